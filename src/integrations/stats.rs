//! Each integration's counters, for the metrics page and `GET /manager/stats/integrations`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde_json::{Value, json};

use crate::metrics::Exposition;

/// One integration's counters.
#[derive(Debug)]
pub struct Stats {
    /// The integration's name (`slack`, `custom-jira`…), with its block number when a name
    /// repeats.
    pub name: String,
    /// Alerts that passed the filters.
    pub matched: AtomicU64,
    /// Alerts the service took.
    pub sent: AtomicU64,
    /// Attempts that failed and were tried again.
    pub retried: AtomicU64,
    /// Alerts given up for good (the service refused them; dead-lettered).
    pub failed: AtomicU64,
    /// Matched alerts the service had nothing to do with (no hash for VirusTotal…).
    pub skipped: AtomicU64,
    /// Events fed back into the engine (VirusTotal, Maltiverse).
    pub injected: AtomicU64,
    /// Bytes of log not yet confirmed.
    pub lag_bytes: AtomicU64,
    /// Whether the circuit breaker is open.
    pub breaker_open: AtomicBool,
}

impl Stats {
    /// Zeroed counters.
    pub fn new(name: String) -> Self {
        Self {
            name,
            matched: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            injected: AtomicU64::new(0),
            lag_bytes: AtomicU64::new(0),
            breaker_open: AtomicBool::new(false),
        }
    }

    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters as JSON.
    pub fn json(&self) -> Value {
        json!({
            "name": self.name,
            "matched": self.matched.load(Ordering::Relaxed),
            "sent": self.sent.load(Ordering::Relaxed),
            "retried": self.retried.load(Ordering::Relaxed),
            "failed": self.failed.load(Ordering::Relaxed),
            "skipped": self.skipped.load(Ordering::Relaxed),
            "injected": self.injected.load(Ordering::Relaxed),
            "lag_bytes": self.lag_bytes.load(Ordering::Relaxed),
            "breaker": if self.breaker_open.load(Ordering::Relaxed) { "open" } else { "closed" },
        })
    }

    /// The counters as metrics.
    pub fn expose(all: &[std::sync::Arc<Self>], page: &mut Exposition) {
        type Read = fn(&Stats) -> u64;
        let counters: [(&str, &str, Read); 6] = [
            ("vigil_integration_matched_total", "Alerts that passed an integration's filters.", |s| {
                s.matched.load(Ordering::Relaxed)
            }),
            ("vigil_integration_sent_total", "Alerts an integration's service took.", |s| {
                s.sent.load(Ordering::Relaxed)
            }),
            ("vigil_integration_retried_total", "Integration attempts tried again.", |s| {
                s.retried.load(Ordering::Relaxed)
            }),
            ("vigil_integration_failed_total", "Alerts an integration gave up (dead-lettered).", |s| {
                s.failed.load(Ordering::Relaxed)
            }),
            ("vigil_integration_skipped_total", "Matched alerts an integration had nothing to do with.", |s| {
                s.skipped.load(Ordering::Relaxed)
            }),
            ("vigil_integration_injected_total", "Events an integration fed back into the engine.", |s| {
                s.injected.load(Ordering::Relaxed)
            }),
        ];
        for (name, help, read) in counters {
            for s in all {
                page.counter(name, help, &[("integration", &s.name)], read(s));
            }
        }
        let gauges: [(&str, &str, Read); 2] = [
            ("vigil_integration_lag_bytes", "Alert log bytes an integration has not confirmed.", |s| {
                s.lag_bytes.load(Ordering::Relaxed)
            }),
            ("vigil_integration_breaker_open", "Whether an integration's circuit breaker is open.", |s| {
                u64::from(s.breaker_open.load(Ordering::Relaxed))
            }),
        ];
        for (name, help, read) in gauges {
            for s in all {
                page.gauge(name, help, &[("integration", &s.name)], read(s));
            }
        }
    }
}
