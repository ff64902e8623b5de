//! Test certificates made with openssl: a CA, and server certificates for 127.0.0.1 it signs.

use std::path::Path;
use std::process::Command;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA `name` (`name.key`, `name.pem`) in `dir`.
pub fn ca(dir: &Path, name: &str) {
    let args = format!(
        "req -x509 -newkey rsa:2048 -nodes -days 2 -sha256 -keyout {name}.key -out {name}.pem -subj /CN={name}"
    );
    let mut args: Vec<&str> = args.split(' ').collect();
    args.extend(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(dir, &args);
}

/// A certificate for 127.0.0.1 (`name.key`, `name.pem`) signed by the CA `ca` in `dir`.
pub fn server(dir: &Path, ca: &str, name: &str) {
    let request = format!("req -newkey rsa:2048 -nodes -keyout {name}.key -out {name}.csr -subj /CN=127.0.0.1");
    openssl(dir, &request.split(' ').collect::<Vec<_>>());
    std::fs::write(
        dir.join("ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext");
    let sign = format!(
        "x509 -req -in {name}.csr -CA {ca}.pem -CAkey {ca}.key -CAcreateserial -out {name}.pem -extfile ext -days 2 -sha256"
    );
    openssl(dir, &sign.split(' ').collect::<Vec<_>>());
}
