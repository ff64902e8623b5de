//! Alerts as bytes: their ids, the JSON of `alerts.json`/`archives.json`, and the text formats
//! of `alerts.log` and `archives.log`.

pub mod data;
pub mod json;
pub mod text;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// An alert's `id`: `<epoch seconds>.<sequence>`, where the sequence is node-wide, so a core
/// can build a whole alert without knowing any file offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AlertId {
    /// When the event was received (Unix seconds).
    pub seconds: i64,
    /// The node's counter.
    pub sequence: u64,
}

impl fmt::Display for AlertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.seconds, self.sequence)
    }
}

/// Hands out alert ids, shared by every worker of a node.
#[derive(Debug, Default)]
pub struct AlertIds(AtomicU64);

impl AlertIds {
    /// Counting from `start` (e.g. past the last id a previous run wrote).
    pub fn starting_at(start: u64) -> Self {
        Self(AtomicU64::new(start))
    }

    /// The next id, for an event received at Unix second `seconds`.
    pub fn next(&self, seconds: i64) -> AlertId {
        AlertId { seconds, sequence: self.0.fetch_add(1, Ordering::Relaxed) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_across_threads() {
        let ids = std::sync::Arc::new(AlertIds::starting_at(7));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let ids = std::sync::Arc::clone(&ids);
                std::thread::spawn(move || (0..1000).map(|_| ids.next(1_764_270_000).sequence).collect::<Vec<_>>())
            })
            .collect();
        let mut all: Vec<u64> = handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 2000);
        assert_eq!(all.first(), Some(&7));
        assert_eq!(AlertId { seconds: 1_764_270_000, sequence: 42 }.to_string(), "1764270000.42");
    }
}
