//! The readers of the log (the indexer shipper, integrations) and how far each has got. A place
//! is a segment, the inode of its file and an offset, so rotation and compression never lose or
//! repeat it; places are kept in the store and survive restarts. A segment may be compressed
//! only once every registered reader of its stream is past it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::segments::{SegmentId, Stream};
use crate::store::Store;

/// A place in a stream: the next byte to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The file.
    pub segment: SegmentId,
    /// Its inode when the place was taken (a different file under the same name is noticed).
    pub inode: u64,
    /// Bytes of it already read.
    pub offset: u64,
}

/// Every reader and its place.
#[derive(Debug)]
pub struct Consumers {
    store: Option<Store>,
    places: Mutex<HashMap<String, (PathBuf, Option<Position>)>>,
}

/// The store key of a reader's place.
fn key(name: &str) -> String {
    format!("output.consumer.{name}")
}

impl Consumers {
    /// Readers whose places are kept in `store` (in memory only without one).
    pub fn new(store: Option<Store>) -> Self {
        Self { store, places: Mutex::new(HashMap::new()) }
    }

    /// Registers reader `name` of `stream` and gives its stored place (none the first time).
    /// From now on the stream's segments wait for it before they are compressed.
    pub fn register(&self, name: &str, stream: &Stream) -> crate::store::Result<Option<Position>> {
        let stored = match &self.store {
            Some(store) => store.meta(&key(name))?.and_then(|bytes| match serde_json::from_slice(&bytes) {
                Ok(p) => Some(p),
                Err(e) => {
                    tracing::warn!(stage = "output", consumer = name, "stored place unreadable, starting over: {e}");
                    None
                }
            }),
            None => None,
        };
        crate::sync::lock(&self.places).insert(name.to_owned(), (stream.dir.clone(), stored));
        Ok(stored)
    }

    /// Records that `name` has read up to `place` (kept in the store).
    pub fn save(&self, name: &str, place: Position) -> crate::store::Result<()> {
        if let Some(store) = &self.store {
            let bytes = serde_json::to_vec(&place).unwrap_or_default();
            store.write(|w| w.set_meta(&key(name), &bytes))?;
        }
        if let Some(entry) = crate::sync::lock(&self.places).get_mut(name) {
            entry.1 = Some(place);
        }
        Ok(())
    }

    /// Whether every reader of `stream` is past segment `id` (true when it has none). A reader
    /// that has not taken a place yet holds every segment back.
    pub fn passed(&self, stream: &Stream, id: SegmentId) -> bool {
        crate::sync::lock(&self.places)
            .values()
            .filter(|(dir, _)| *dir == stream.dir)
            .all(|(_, place)| place.is_some_and(|p| p.segment > id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_hold_compression_back_and_survive_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("db")).expect("store");
        let alerts = Stream { dir: dir.path().join("alerts"), tag: "alerts", ext: "json", link: "alerts.json" };
        let archives = Stream { dir: dir.path().join("archives"), tag: "archive", ext: "json", link: "archives.json" };
        let day = |d| SegmentId { day: jiff::civil::date(2026, 11, d), number: 0 };

        let consumers = Consumers::new(Some(store.clone()));
        assert!(consumers.passed(&alerts, day(1)), "no reader: nothing waits");
        assert_eq!(consumers.register("indexer", &alerts).expect("register"), None);
        assert!(!consumers.passed(&alerts, day(1)), "a reader with no place yet holds everything");
        assert!(consumers.passed(&archives, day(1)), "another stream's reader does not");
        let place = Position { segment: day(3), inode: 7, offset: 120 };
        consumers.save("indexer", place).expect("save");
        assert!(consumers.passed(&alerts, day(2)));
        assert!(!consumers.passed(&alerts, day(3)), "the segment being read is not passed");

        let again = Consumers::new(Some(store));
        assert_eq!(again.register("indexer", &alerts).expect("register"), Some(place));
    }
}
