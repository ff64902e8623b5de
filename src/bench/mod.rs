//! Benchmark support shared by `benches/` and `vigil bench`: corpora, decoding and full-pipeline
//! throughput runs, and the process's resident memory.

pub mod agents;
pub mod api;
pub mod cluster;
pub mod corpus;
pub mod enroll;
pub mod indexer;
pub mod integrations;
pub mod keepalives;
pub mod modules;
pub mod receiver;

use std::time::{Duration, Instant};

use crate::engine::Engine;
use crate::engine::alert::AlertIds;
use crate::engine::alert::json::Origin;
use crate::engine::emit::Outputs;
use crate::engine::rules::Mode;

/// The value below which `p` (0–1) of the sorted `values` lie.
pub fn percentile(values: &[Duration], p: f64) -> Duration {
    let last = values.len().saturating_sub(1);
    values.get(((last as f64) * p).round() as usize).copied().unwrap_or_default()
}

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

/// What one full-pipeline run measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pipeline {
    /// Events processed.
    pub events: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// Alerts produced.
    pub alerts: usize,
    /// Bytes of alert JSON produced.
    pub bytes: usize,
}

impl Pipeline {
    /// Events per second.
    pub fn per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Only alerts.json is rendered: the bytes the engine hands to the writer.
const JSON_ONLY: Outputs = Outputs { alerts_json: true, alerts_log: false, archives_json: false, archives_log: false };

/// Pre-decodes, decodes, evaluates the rules and renders the alert JSON of every message, on
/// `threads` threads sharing the engine's state (the chunks are split up front, so no thread
/// waits on a feeder). Events are stamped `now`.
pub fn pipeline(engine: &Engine, messages: &[Vec<u8>], threads: usize, now: i64) -> Pipeline {
    let ids = AlertIds::default();
    let origin = Origin { manager: "manager", cluster: None };
    let chunk = messages.len().div_ceil(threads.max(1)).max(1);
    let start = Instant::now();
    let (alerts, bytes) = std::thread::scope(|scope| {
        let workers: Vec<_> = messages
            .chunks(chunk)
            .map(|part| {
                let ids = &ids;
                scope.spawn(move || {
                    let (mut alerts, mut bytes) = (0, 0);
                    let mut warnings = Vec::new();
                    for raw in part {
                        let Ok(outcome) = engine.process(engine.shared(), raw, now, Mode::Analysisd, false) else {
                            continue;
                        };
                        let emitted = engine.emit(&outcome, (now, 0), ids, origin, JSON_ONLY, &mut warnings);
                        warnings.clear();
                        if let Some(line) = emitted.alert_json {
                            alerts += 1;
                            bytes += line.len();
                        }
                    }
                    (alerts, bytes)
                })
            })
            .collect();
        workers.into_iter().filter_map(|w| w.join().ok()).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    Pipeline { events: messages.len(), elapsed: start.elapsed(), alerts, bytes }
}

/// Resident memory of this process in bytes (Linux `/proc/self/status`), if known.
pub fn resident_bytes() -> Option<u64> {
    resident_bytes_of("self")
}

/// The resident memory of process `pid` (a number, or `self`), in bytes.
pub fn resident_bytes_of(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Registers `count` agents named `<prefix>-<n>` (address `any`) in one transaction.
pub fn provision(
    store: &crate::store::Store,
    prefix: &str,
    count: usize,
) -> Result<Vec<crate::store::Agent>, crate::store::StoreError> {
    use crate::store::{AgentIp, NewAgent, StoreError};
    store.write(|w| {
        (0..count)
            .map(|n| {
                let name = format!("{prefix}-{n}").parse().map_err(|_| StoreError::IdsExhausted)?;
                w.add_agent(NewAgent { name, ip: AgentIp::any(), groups: vec![], registered_at: 0 })
            })
            .collect()
    })
}
