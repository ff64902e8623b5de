//! Starting and stopping a real `vigil serve` in tests.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::vigil;

/// Polls `done` until it holds, failing the test after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The server's log file.
pub fn log(home: &Path) -> String {
    std::fs::read_to_string(home.join("logs/ossec.log")).unwrap_or_default()
}

/// `vigil serve --home <home>` in the background.
pub fn start(home: &Path) -> Child {
    vigil().arg("serve").arg("--home").arg(home).stderr(Stdio::piped()).spawn().expect("spawn vigil serve")
}

/// Sends SIGTERM.
pub fn term(child: &Child) {
    let status = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("kill");
    assert!(status.success());
}
