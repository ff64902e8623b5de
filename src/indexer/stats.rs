//! What the shipper reports: counts, lag, and each host's health, for the metrics page and
//! `GET /manager/stats/indexer`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use serde_json::{Value, json};

use crate::metrics::Exposition;

/// One stream's shipper counters.
#[derive(Debug)]
pub struct Stats {
    /// `alerts` or `archives`.
    pub stream: &'static str,
    /// Documents the indexer confirmed.
    pub shipped: AtomicU64,
    /// Documents sent again (refused for now, or the whole request failed).
    pub retried: AtomicU64,
    /// Documents refused for good, written to the dead-letter file.
    pub failed: AtomicU64,
    /// Log lines that were not documents (torn, not JSON, no timestamp), dead-lettered.
    pub skipped: AtomicU64,
    /// `_bulk` requests answered.
    pub bulks: AtomicU64,
    /// Bytes of log not yet confirmed.
    pub lag_bytes: AtomicU64,
    /// Bytes per document shipped, on average (to turn the byte lag into alerts).
    pub doc_bytes: AtomicU64,
    /// Alert time (Unix ms) of the oldest line not yet confirmed, 0 when caught up.
    pub oldest_pending_ms: AtomicI64,
    /// Each host and whether it answers.
    pub hosts: Mutex<Vec<(String, bool)>>,
}

impl Stats {
    /// Zeroed counters for `stream`.
    pub fn new(stream: &'static str) -> Self {
        Self {
            stream,
            shipped: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            bulks: AtomicU64::new(0),
            lag_bytes: AtomicU64::new(0),
            doc_bytes: AtomicU64::new(0),
            oldest_pending_ms: AtomicI64::new(0),
            hosts: Mutex::new(Vec::new()),
        }
    }

    /// Lag in alerts (estimated from the byte lag and the mean document size).
    pub fn lag_alerts(&self) -> u64 {
        let bytes = self.lag_bytes.load(Ordering::Relaxed);
        match self.doc_bytes.load(Ordering::Relaxed) {
            0 => u64::from(bytes > 0),
            per => bytes.div_ceil(per),
        }
    }

    /// Lag in seconds at Unix millisecond `now_ms`: the age of the oldest line not shipped.
    pub fn lag_seconds(&self, now_ms: i64) -> u64 {
        match self.oldest_pending_ms.load(Ordering::Relaxed) {
            0 => 0,
            at => u64::try_from((now_ms - at).max(0) / 1000).unwrap_or(0),
        }
    }

    /// The counters as JSON.
    pub fn json(&self, now_ms: i64) -> Value {
        let hosts: Vec<Value> = crate::sync::lock(&self.hosts)
            .iter()
            .map(|(host, up)| json!({"host": host, "status": if *up { "up" } else { "down" }}))
            .collect();
        json!({
            "stream": self.stream,
            "shipped": self.shipped.load(Ordering::Relaxed),
            "retried": self.retried.load(Ordering::Relaxed),
            "failed": self.failed.load(Ordering::Relaxed),
            "skipped": self.skipped.load(Ordering::Relaxed),
            "bulk_requests": self.bulks.load(Ordering::Relaxed),
            "lag": {"bytes": self.lag_bytes.load(Ordering::Relaxed), "alerts": self.lag_alerts(), "seconds": self.lag_seconds(now_ms)},
            "hosts": hosts,
        })
    }

    /// The counters as metrics.
    pub fn expose(all: &[std::sync::Arc<Self>], page: &mut Exposition, now_ms: i64) {
        type Read = fn(&Stats, i64) -> u64;
        let counters: [(&str, &str, Read); 5] = [
            ("vigil_indexer_shipped_total", "Documents the indexer confirmed.", |s, _| {
                s.shipped.load(Ordering::Relaxed)
            }),
            ("vigil_indexer_retried_total", "Documents sent again.", |s, _| s.retried.load(Ordering::Relaxed)),
            ("vigil_indexer_failed_total", "Documents refused for good (dead-lettered).", |s, _| {
                s.failed.load(Ordering::Relaxed)
            }),
            ("vigil_indexer_skipped_total", "Log lines that were not documents (dead-lettered).", |s, _| {
                s.skipped.load(Ordering::Relaxed)
            }),
            ("vigil_indexer_bulk_requests_total", "_bulk requests answered.", |s, _| s.bulks.load(Ordering::Relaxed)),
        ];
        for (name, help, read) in counters {
            for s in all {
                page.counter(name, help, &[("stream", s.stream)], read(s, now_ms));
            }
        }
        let gauges: [(&str, &str, Read); 3] = [
            ("vigil_indexer_lag_bytes", "Log bytes not yet confirmed by the indexer.", |s, _| {
                s.lag_bytes.load(Ordering::Relaxed)
            }),
            ("vigil_indexer_lag_alerts", "Alerts not yet confirmed (estimated from bytes).", |s, _| s.lag_alerts()),
            ("vigil_indexer_lag_seconds", "Age of the oldest alert not yet confirmed.", Stats::lag_seconds),
        ];
        for (name, help, read) in gauges {
            for s in all {
                page.gauge(name, help, &[("stream", s.stream)], read(s, now_ms));
            }
        }
        for s in all {
            for (host, up) in crate::sync::lock(&s.hosts).iter() {
                page.gauge(
                    "vigil_indexer_host_up",
                    "Whether an indexer host answers.",
                    &[("stream", s.stream), ("host", host)],
                    u64::from(*up),
                );
            }
        }
    }
}
