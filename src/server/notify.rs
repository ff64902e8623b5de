//! systemd's service protocol (`sd_notify`), spoken when systemd started vigil with
//! `Type=notify`: `READY=1` once every service listens, `STATUS=` lines with the agents and
//! events per second, `WATCHDOG=1` every half `WatchdogSec` while every data-plane core still
//! beats (a stuck core stops the pings, and systemd restarts the service), `STOPPING=1` on the
//! way out. Without `NOTIFY_SOCKET` nothing is sent.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

use tracing::{error, warn};

/// How often the status line is refreshed when no watchdog is asked for.
const STATUS_EVERY: Duration = Duration::from_secs(5);

/// The connection to the service manager.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    to: SocketAddr,
    /// Half the watchdog period, when systemd asks for pings.
    watchdog: Option<Duration>,
}

impl Notifier {
    /// The service manager named by `NOTIFY_SOCKET` (a path, or `@` for the abstract
    /// namespace), with `WATCHDOG_USEC` when it is meant for this process.
    pub fn from_env() -> Option<Self> {
        let path = std::env::var_os("NOTIFY_SOCKET")?;
        let to = match path.as_encoded_bytes().strip_prefix(b"@") {
            Some(name) => {
                use std::os::linux::net::SocketAddrExt as _;
                SocketAddr::from_abstract_name(name)
            }
            None => SocketAddr::from_pathname(&path),
        };
        let (to, socket) = match to.and_then(|to| UnixDatagram::unbound().map(|s| (to, s))) {
            Ok(pair) => pair,
            Err(e) => {
                warn!("NOTIFY_SOCKET unusable: {e}; systemd is not told of readiness");
                return None;
            }
        };
        let for_us = std::env::var("WATCHDOG_PID").ok().is_none_or(|pid| pid == std::process::id().to_string());
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|usec| usec.parse::<u64>().ok())
            .filter(|usec| *usec > 0 && for_us)
            .map(|usec| Duration::from_micros(usec / 2));
        Some(Self { socket, to, watchdog })
    }

    /// Sends `lines` (`KEY=value`, newline-separated).
    pub fn send(&self, lines: &str) {
        if let Err(e) = self.socket.send_to_addr(lines.as_bytes(), &self.to) {
            warn!("cannot notify systemd: {e}");
        }
    }

    /// Reports readiness, then the status (and watchdog pings) on a thread of their own for
    /// good: `health` gives the status line, or why the server is unwell (no ping then).
    pub fn serve(
        self: &std::sync::Arc<Self>,
        status: String,
        health: impl Fn() -> Result<String, String> + Send + 'static,
    ) -> std::io::Result<()> {
        self.send(&format!("READY=1\nSTATUS={status}"));
        let this = std::sync::Arc::clone(self);
        std::thread::Builder::new().name("vigil-notify".into()).spawn(move || {
            loop {
                std::thread::sleep(this.watchdog.unwrap_or(STATUS_EVERY));
                match health() {
                    Ok(status) if this.watchdog.is_some() => this.send(&format!("WATCHDOG=1\nSTATUS={status}")),
                    Ok(status) => this.send(&format!("STATUS={status}")),
                    Err(problem) => {
                        error!("watchdog: {problem}; systemd is not pinged");
                        this.send(&format!("STATUS={problem}"));
                    }
                }
            }
        })?;
        Ok(())
    }
}
