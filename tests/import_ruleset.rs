//! `vigil ruleset import-wazuh`: Wazuh's stock ruleset (from `../shared`, as a directory and as
//! a release tarball) replaces vigil's default one in a home, lists and config entries
//! included, and then answers as Wazuh's does.

mod common;

use std::process::Command;

use common::ruleset_home::shared;
use common::{ok, scratch, vigil};
use vigil::home::Home;

#[test]
fn a_ruleset_directory_installs_and_loads() {
    let s = scratch();
    let source = shared().join("ruleset");
    let out = ok(&s.home, &["ruleset", "import-wazuh", source.to_str().expect("utf-8 path")]);
    assert!(out.contains("installed 120 decoder files, 168 rule files"), "{out}");
    assert!(out.contains("rules: 4502 (from 167 files)"), "0215 excluded, the aws-eventnames cascade dropped: {out}");
    assert!(out.contains("lists: 4 (603 entries)"), "{out}");
    assert!(out.contains("0 error(s)"), "{out}");
    // vigil's defaults are kept aside, not loaded.
    let disabled = std::fs::read_dir(s.home.join("ruleset/disabled")).expect("disabled").count();
    assert_eq!(disabled, 1);
    assert!(!s.home.join("ruleset/rules/0020-vigil-linux_rules.xml").exists());
    // Wazuh's rules answer: an invalid-user login is 5710.
    let mut child = vigil()
        .args(["logtest", "-q", "-U", "5710:5:sshd", "--home"])
        .arg(&s.home)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("logtest");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"Nov 27 12:00:00 host sshd[123]: Failed password for invalid user bob from 10.0.0.1 port 22 ssh2\n")
        .expect("write");
    assert!(child.wait().expect("exit").success(), "Wazuh's sshd rule 5710 answers");
}

#[test]
fn a_release_tarball_installs_only_its_ruleset() {
    let s = scratch();
    let home = Home::new(&s.home);
    home.prepare(0).expect("home");
    // A tarball shaped like Wazuh's source release: wazuh-4.14.7/ruleset/...
    let tree = s.dir.path().join("tree/wazuh-4.14.7");
    std::fs::create_dir_all(&tree).expect("mkdir");
    std::os::unix::fs::symlink(shared().join("ruleset"), tree.join("ruleset")).expect("link");
    std::fs::write(tree.join("README.md"), "not part of the ruleset").expect("write");
    let tarball = s.dir.path().join("wazuh-4.14.7.tar.gz");
    let status = Command::new("tar")
        .arg("-czhf")
        .arg(&tarball)
        .arg("-C")
        .arg(s.dir.path().join("tree"))
        .arg("wazuh-4.14.7")
        .status()
        .expect("tar");
    assert!(status.success());
    let done = vigil::ruleset::import::import(&home, &tarball).expect("import");
    assert_eq!((done.decoders, done.rules), (120, 168));
    assert!(done.lists >= 7, "every list file, configured or not: {}", done.lists);
    assert!(done.config_updated);
    assert!(s.home.join("etc/lists/malicious-ioc/malicious-ip").is_file());
    assert!(
        !s.home.join("var/.import-0").exists()
            && std::fs::read_dir(s.home.join("var"))
                .expect("var")
                .all(|e| { e.is_ok_and(|e| !e.file_name().to_string_lossy().starts_with(".import")) }),
        "the staging directory is removed"
    );
    // Importing again changes nothing in the config and keeps working.
    let again = vigil::ruleset::import::import(&home, &tarball).expect("import again");
    assert!(!again.config_updated);
    assert_eq!(again.disabled, 120 + 168, "the previous import is set aside");
    let bad = vigil::ruleset::import::import(&home, &s.dir.path().join("tree/wazuh-4.14.7/README.md"));
    assert!(bad.is_err(), "a file that is not a tarball of a ruleset is refused");
}
