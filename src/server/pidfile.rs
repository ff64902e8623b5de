//! `var/run/vigil.pid`: one server per home.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

/// Why the pid file could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum PidError {
    /// Another live vigil holds it.
    #[error("vigil is already running on this home (pid {pid}, {path})")]
    Running {
        /// The other process.
        pid: i32,
        /// The pid file.
        path: PathBuf,
    },
    /// The file could not be written.
    #[error("cannot write the pid file {path}: {source}")]
    Io {
        /// The pid file.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
}

/// A held pid file, removed on drop.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
}

/// Whether `pid` is a live process running the vigil binary.
fn is_vigil(pid: i32) -> bool {
    let alive = rustix::process::Pid::from_raw(pid).is_some_and(|p| rustix::process::test_kill_process(p).is_ok());
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    alive && comm.trim() == "vigil"
}

/// The pid of the vigil serving with the pid file at `path`, if one runs.
pub fn running(path: &Path) -> Option<i32> {
    let pid = fs::read_to_string(path).ok()?.trim().parse::<i32>().ok()?;
    is_vigil(pid).then_some(pid)
}

impl PidFile {
    /// Takes the pid file, replacing a stale one left by a crash.
    pub fn acquire(path: &Path) -> Result<Self, PidError> {
        let io = |source| PidError::Io { path: path.to_owned(), source };
        if let Ok(text) = fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse::<i32>()
                && pid != std::process::id() as i32
                && is_vigil(pid)
            {
                return Err(PidError::Running { pid, path: path.to_owned() });
            }
            fs::remove_file(path).map_err(io)?;
        }
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o644).open(path).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(Self { path: path.to_owned() })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_files_are_replaced_and_removed_on_drop() {
        let dir = tempfile::tempdir().ok();
        let path = dir.as_ref().map(|d| d.path().join("vigil.pid")).unwrap_or_default();
        // A pid that is not a running vigil (pid 1 is init).
        assert!(fs::write(&path, "1\n").is_ok());
        let held = PidFile::acquire(&path);
        assert!(held.is_ok());
        assert_eq!(fs::read_to_string(&path).ok(), Some(format!("{}\n", std::process::id())));
        drop(held);
        assert!(!path.exists());
    }
}
