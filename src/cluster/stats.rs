//! The cluster's counters, for the metrics page and `vigil cluster status`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::metrics::Exposition;
use crate::remote::stats::Counter;

/// Counters of one node's cluster service.
#[derive(Debug, Default)]
pub struct Stats {
    /// Registry records applied to the local mirror.
    pub applied: Counter,
    /// Registry values that did not open or parse (ignored).
    pub corrupt: Counter,
    /// Times the registry watch failed and was started again.
    pub watch_errors: Counter,
    /// From a record's storing in NATS to its arrival here, in milliseconds (the last one).
    pub watch_delay_ms: AtomicU64,
    /// Registry writes (enrollments, removals, changes) that succeeded.
    pub writes: Counter,
    /// Registry writes refused because NATS could not be reached.
    pub unavailable: Counter,
    /// Heartbeats written.
    pub heartbeats: Counter,
    /// Agents whose connection this node has claimed.
    pub holders: AtomicU64,
    /// Commands passed to other nodes for their agents.
    pub relayed: Counter,
    /// Commands other nodes did not take (gone, timed out, agent not there).
    pub relay_failures: Counter,
    /// Round trip of the last command passed to another node, in milliseconds.
    pub relay_rtt_ms: AtomicU64,
    synced: AtomicBool,
}

impl Stats {
    /// Whether the mirror has caught up with the registry once.
    pub fn synced(&self) -> bool {
        self.synced.load(Ordering::Relaxed)
    }

    /// Records that the mirror caught up.
    pub fn set_synced(&self) {
        self.synced.store(true, Ordering::Relaxed);
    }

    /// Writes the counters into `page`.
    pub fn expose(&self, page: &mut Exposition) {
        let counters = [
            ("vigil_cluster_records_applied_total", "Registry records applied to this node's mirror.", &self.applied),
            ("vigil_cluster_records_corrupt_total", "Registry values that did not open or parse.", &self.corrupt),
            ("vigil_cluster_watch_errors_total", "Times the registry watch failed and restarted.", &self.watch_errors),
            ("vigil_cluster_registry_writes_total", "Registry writes that succeeded.", &self.writes),
            ("vigil_cluster_unavailable_total", "Registry writes refused: NATS unreachable.", &self.unavailable),
            ("vigil_cluster_heartbeats_total", "Node heartbeats written.", &self.heartbeats),
            ("vigil_cluster_commands_relayed_total", "Commands passed to the node holding the agent.", &self.relayed),
            ("vigil_cluster_command_failures_total", "Commands another node did not take.", &self.relay_failures),
        ];
        for (name, help, counter) in counters {
            page.counter(name, help, &[], counter.get());
        }
        page.gauge(
            "vigil_cluster_watch_delay_milliseconds",
            "From a registry change's storing in NATS to its arrival at this node (the last one).",
            &[],
            self.watch_delay_ms.load(Ordering::Relaxed),
        );
        page.gauge(
            "vigil_cluster_command_rtt_milliseconds",
            "Round trip of the last command passed to another node.",
            &[],
            self.relay_rtt_ms.load(Ordering::Relaxed),
        );
        page.gauge(
            "vigil_cluster_agents_held",
            "Agents whose connection this node has claimed.",
            &[],
            self.holders.load(Ordering::Relaxed),
        );
        page.gauge(
            "vigil_cluster_synced",
            "1 once this node's mirror has caught up with the registry.",
            &[],
            u64::from(self.synced()),
        );
    }
}
