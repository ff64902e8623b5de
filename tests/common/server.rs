//! Starting and stopping a real `vigil serve` in tests.

use std::ffi::OsStr;
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
    start_with(home, &[])
}

/// `vigil serve --home <home>` in the background, with `env` added to its environment.
pub fn start_with(home: &Path, env: &[(&str, &OsStr)]) -> Child {
    let mut command = vigil();
    command.arg("serve").arg("--home").arg(home).stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    command.spawn().expect("spawn vigil serve")
}

/// Sends SIGTERM.
pub fn term(child: &Child) {
    let status = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("kill");
    assert!(status.success());
}

/// A free TCP port on loopback (free when asked; tests bind it soon after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// A `vigil serve` on a scratch home, killed when dropped however the test ends.
pub struct Running {
    /// The server process.
    pub child: Child,
    /// The port the test configured for it.
    pub port: u16,
    /// Its home.
    pub scratch: super::Scratch,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// The home directory.
    pub fn home(&self) -> &Path {
        &self.scratch.home
    }
}

/// Lays out a home, lets `prepare` change it (given the home and a free port; it returns the
/// new ossec.conf), starts `vigil serve` on it and waits for `ready` in its log.
pub fn serve_prepared(ready: &str, prepare: impl FnOnce(&Path, u16, String) -> String) -> Running {
    serve_prepared_with(ready, &[], prepare)
}

/// [`serve_prepared`] with `env` added to the server's environment.
pub fn serve_prepared_with(
    ready: &str,
    env: &[(&str, &OsStr)],
    prepare: impl FnOnce(&Path, u16, String) -> String,
) -> Running {
    let scratch = super::scratch();
    super::ok(&scratch.home, &["agents", "list"]);
    let path = scratch.home.join("etc/ossec.conf");
    let port = free_port();
    // Each server gets an API port of its own, so servers of one test binary can run at once.
    let config = std::fs::read_to_string(&path)
        .expect("ossec.conf")
        .replace("<port>55000</port>", &format!("<port>{}</port>", free_port()));
    let config = prepare(&scratch.home, port, config);
    std::fs::write(&path, config).expect("write ossec.conf");
    let child = start_with(&scratch.home, env);
    let running = Running { child, port, scratch };
    wait_for(ready, Duration::from_secs(30), || log(running.home()).contains(ready));
    running
}

/// `config` with its first `<name>…</name>` block replaced by `block`.
pub fn replace_block(config: &str, name: &str, block: &str) -> String {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let start = config.find(&open).expect("the block");
    let end = config[start..].find(&close).expect("its end") + start + close.len();
    format!("{}{block}{}", &config[..start], &config[end..])
}
