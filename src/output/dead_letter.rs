//! What a reader of the log gave up on for good (documents the indexer refused, alerts an
//! integration's service refused, log lines that were no alerts), kept one JSON object per line
//! in `logs/<service>/<name>-dead-letter.json` (0640) with the reason, so nothing is lost
//! silently (Wazuh's pipeline and integrator drop them without a trace).

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use serde_json::json;

/// Where the dead-letter file of `name` in `service` (`indexer`, `integrations`) is, under the
/// home.
pub fn path(home: &Path, service: &str, name: &str) -> PathBuf {
    home.join("logs").join(service).join(format!("{name}-dead-letter.json"))
}

/// The open file.
#[derive(Debug)]
pub struct DeadLetter {
    path: PathBuf,
    file: Option<File>,
}

impl DeadLetter {
    /// The dead-letter file at `path` (opened on first use).
    pub fn new(path: &Path) -> Self {
        Self { path: path.to_owned(), file: None }
    }

    /// Keeps `document` (as sent, or the log line) with why it was refused.
    pub fn write(&mut self, stream: &str, status: Option<u16>, reason: &str, document: &[u8]) {
        let entry = json!({
            "timestamp": jiff::Timestamp::now().to_string(),
            "stream": stream,
            "status": status,
            "reason": reason,
            "document": String::from_utf8_lossy(document),
        });
        let written = self.open().and_then(|f| writeln!(f, "{entry}"));
        if let Err(e) = written {
            // The document is still in the log: nothing is lost, but say where it should be.
            tracing::error!(stage = "output", file = %self.path.display(), "cannot write the dead-letter file: {e}");
        }
    }

    fn open(&mut self) -> std::io::Result<&mut File> {
        if self.file.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::DirBuilder::new().recursive(true).mode(0o750).create(dir)?;
            }
            self.file = Some(OpenOptions::new().append(true).create(true).mode(0o640).open(&self.path)?);
        }
        self.file.as_mut().ok_or_else(|| std::io::Error::other("dead-letter file not open"))
    }
}
