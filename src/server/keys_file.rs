//! `etc/client.keys` kept in step with the store for tools that read it: rewritten atomically
//! (temporary file and rename) after changes, at most once per batch window however many
//! enrollments the window saw. Changes made by other processes on the same store (`vigil agents
//! add`) are picked up by a check every [`POLL`].

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use tracing::{debug, error};

use crate::home::Home;
use crate::store::Store;

/// How long changes are gathered before one rewrite.
pub const WINDOW: Duration = Duration::from_millis(200);
/// How often the file is compared with the store when nothing was notified.
pub const POLL: Duration = Duration::from_secs(5);

/// Wakes the writer thread; it ends when every handle is dropped.
#[derive(Debug, Clone)]
pub struct KeysFile {
    changed: mpsc::Sender<()>,
}

impl KeysFile {
    /// Starts the writer: the file is brought up to date now, then after each [`notify`].
    ///
    /// [`notify`]: KeysFile::notify
    pub fn spawn(store: Store, path: PathBuf, window: Duration) -> std::io::Result<Self> {
        let (changed, wakeups) = mpsc::channel();
        std::thread::Builder::new().name("vigil-client-keys".into()).spawn(move || {
            sync(&store, &path);
            loop {
                match wakeups.recv_timeout(POLL) {
                    Ok(()) => {
                        std::thread::sleep(window);
                        while wakeups.try_recv().is_ok() {}
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
                sync(&store, &path);
            }
        })?;
        Ok(Self { changed })
    }

    /// Says the store's agents changed.
    pub fn notify(&self) {
        // The writer only stops at shutdown, when nothing is left to write.
        let _ = self.changed.send(());
    }
}

/// Rewrites the file when its contents differ from the store's.
fn sync(store: &Store, path: &PathBuf) {
    let text = match store.export_keys() {
        Ok(text) => text,
        Err(e) => return error!("cannot read the agents to write {}: {e}", path.display()),
    };
    if std::fs::read(path).is_ok_and(|on_disk| on_disk == text.as_bytes()) {
        return;
    }
    match Home::write_atomic(path, text.as_bytes(), 0o640) {
        Ok(()) => debug!(path = %path.display(), "client.keys rewritten"),
        Err(e) => error!("cannot write {}: {e}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AgentIp, NewAgent};

    #[test]
    fn changes_reach_the_file_in_one_rewrite() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join("db"))?;
        let path = dir.path().join("client.keys");
        let keys = KeysFile::spawn(store.clone(), path.clone(), Duration::from_millis(50))?;
        let wait = |lines: usize| {
            let start = std::time::Instant::now();
            while std::fs::read_to_string(&path).map(|t| t.lines().count()).unwrap_or(usize::MAX) != lines {
                assert!(start.elapsed() < Duration::from_secs(5), "client.keys never got {lines} lines");
                std::thread::sleep(Duration::from_millis(10));
            }
        };
        wait(0);
        for n in 0..3 {
            let name = format!("agent{n}").parse()?;
            store.add_agent(NewAgent { name, ip: AgentIp::any(), groups: vec![], registered_at: 0 })?;
            keys.notify();
        }
        wait(3);
        let text = std::fs::read_to_string(&path)?;
        assert!(text.starts_with("001 agent0 any "), "{text}");
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o640);
        Ok(())
    }
}
