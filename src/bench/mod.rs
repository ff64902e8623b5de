//! Benchmark support shared by `benches/` and `vigil bench`: corpora and throughput runs.

pub mod corpus;

use std::time::{Duration, Instant};

use crate::engine::Engine;

/// What one decoding run measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    /// Events processed.
    pub events: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// Events that got a decoder.
    pub decoded: usize,
    /// Top-level decoders tried, in total.
    pub tried: u64,
}

impl Throughput {
    /// Events per second.
    pub fn per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Average top-level decoders tried per event.
    pub fn tried_per_event(&self) -> f64 {
        self.tried as f64 / self.events.max(1) as f64
    }
}

/// Pre-decodes and decodes every message once on this thread.
pub fn decode_all(engine: &Engine, messages: &[Vec<u8>]) -> Throughput {
    let start = Instant::now();
    let (mut decoded, mut tried) = (0, 0u64);
    for raw in messages {
        if let Ok((event, t)) = engine.decode(raw, 0) {
            decoded += usize::from(event.decoder.is_some());
            tried += u64::from(t.top_level);
        }
    }
    Throughput { events: messages.len(), elapsed: start.elapsed(), decoded, tried }
}
