//! Each data-plane core's heartbeat: a core whose event loop stops turning (a task that never
//! yields, a stuck call) stops beating, and the service manager's watchdog learns of it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One timestamp (Unix milliseconds) per core.
#[derive(Debug)]
pub struct Beats(Box<[AtomicU64]>);

fn now_ms() -> u64 {
    u64::try_from(crate::server::now_ms()).unwrap_or(0)
}

impl Beats {
    /// `cores` cores, each beating as of now.
    pub fn new(cores: usize) -> Self {
        Self((0..cores).map(|_| AtomicU64::new(now_ms())).collect())
    }

    /// Core `core` is alive.
    pub fn beat(&self, core: usize) {
        if let Some(beat) = self.0.get(core) {
            beat.store(now_ms(), Ordering::Relaxed);
        }
    }

    /// The cores silent for longer than `limit`.
    pub fn silent(&self, limit: Duration) -> Vec<usize> {
        let oldest = now_ms().saturating_sub(limit.as_millis() as u64);
        self.0.iter().enumerate().filter(|(_, b)| b.load(Ordering::Relaxed) < oldest).map(|(i, _)| i).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_core_that_stops_beating_is_named() {
        let beats = Beats::new(2);
        assert!(beats.silent(Duration::from_secs(1)).is_empty());
        beats.0[1].store(0, Ordering::Relaxed);
        beats.beat(0);
        assert_eq!(beats.silent(Duration::from_secs(1)), vec![1]);
        beats.beat(1);
        beats.beat(7);
        assert!(beats.silent(Duration::from_secs(1)).is_empty());
    }
}
