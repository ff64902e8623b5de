//! A real NATS server with JetStream for the cluster tests (`nats-server`, installed by
//! scripts/deps.sh with `go install`; `NATS_SERVER` names another binary).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::server::{free_port, wait_for};

/// The nats-server binary.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER") {
        return path.into();
    }
    let in_go = std::env::var_os("HOME").map(|h| Path::new(&h).join("go/bin/nats-server"));
    match in_go {
        Some(path) if path.exists() => path,
        _ => PathBuf::from("nats-server"),
    }
}

/// One nats-server on loopback, stopped when dropped.
pub struct Nats {
    child: Option<Child>,
    /// Its client port.
    pub port: u16,
    /// Its JetStream store.
    pub store: PathBuf,
    /// Extra arguments (TLS).
    args: Vec<String>,
}

impl Nats {
    /// Starts a server storing under `dir`; `tls` is `(cert, key)` to require TLS.
    pub fn start(dir: &Path, tls: Option<(&Path, &Path)>) -> Self {
        let mut args = Vec::new();
        if let Some((cert, key)) = tls {
            args.extend(["--tls".into(), "--tlscert".into(), cert.display().to_string()]);
            args.extend(["--tlskey".into(), key.display().to_string()]);
        }
        Self::start_args(dir, args)
    }

    /// Starts a server storing under `dir` with extra command-line `args`.
    pub fn start_with_args(dir: &Path, args: &[&str]) -> Self {
        Self::start_args(dir, args.iter().map(|a| (*a).to_owned()).collect())
    }

    fn start_args(dir: &Path, args: Vec<String>) -> Self {
        let mut nats = Self { child: None, port: free_port(), store: dir.join("jetstream"), args };
        nats.resume();
        nats
    }

    /// `count` servers clustered on loopback, each storing under `dir`, JetStream replicated
    /// among them; returns once they answer.
    pub fn cluster(dir: &Path, count: usize) -> Vec<Self> {
        let routes: Vec<u16> = (0..count).map(|_| free_port()).collect();
        let all = routes.iter().map(|p| format!("nats://127.0.0.1:{p}")).collect::<Vec<_>>().join(",");
        (0..count)
            .map(|i| {
                let args = vec![
                    "--server_name".to_owned(),
                    format!("n{i}"),
                    "--cluster_name".to_owned(),
                    "vigil-test".to_owned(),
                    "--cluster".to_owned(),
                    format!("nats://127.0.0.1:{}", routes[i]),
                    "--routes".to_owned(),
                    all.clone(),
                ];
                Self::start_args(&dir.join(format!("n{i}")), args)
            })
            .collect()
    }

    /// The client URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops the server (as a crash would: SIGKILL).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and store.
    pub fn resume(&mut self) {
        let child = Command::new(binary())
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string(), "-sd"])
            .arg(&self.store)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server (installed by scripts/deps.sh, or named by NATS_SERVER)");
        self.child = Some(child);
        let port = self.port;
        wait_for("nats-server to listen", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}
