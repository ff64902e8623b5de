//! The agent connection service's counters, as remoted keeps them (`remoted_state_t`): bytes,
//! messages received and sent by kind, TCP sessions, and vigil's closed connections by reason.
//! They are read three ways: `{"command":"getstats"}` on `queue/sockets/remote` (the shape the
//! API's daemon statistics read), `var/run/wazuh-remoted.state`, and Prometheus text.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Value, json};
use tracing::warn;

use super::syslog::SyslogStats;
use super::udp_drops::UdpSockets;
use crate::logging::throttle::Throttle;
use crate::metrics::Exposition;

/// One counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds one.
    pub fn inc(&self) {
        self.add(1);
    }

    /// Takes one away (gauges).
    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }

    /// The value now.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Messages received, by kind (remoted's `recv_breakdown`).
#[derive(Debug, Default)]
pub struct Received {
    /// Events forwarded to the engine.
    pub event: Counter,
    /// Keepalives.
    pub keepalive: Counter,
    /// Start-ups.
    pub startup: Counter,
    /// Shutdowns.
    pub shutdown: Counter,
    /// Answers to requests.
    pub request: Counter,
    /// `#ping` probes.
    pub ping: Counter,
    /// Messages that were not valid (the frame that closed a connection).
    pub unknown: Counter,
    /// Events dropped (malformed, UDP overflow).
    pub discarded: Counter,
}

/// Messages sent, by kind (remoted's `sent_breakdown`).
#[derive(Debug, Default)]
pub struct Sent {
    /// Start-up and keepalive acks.
    pub ack: Counter,
    /// merged.mg push messages.
    pub shared: Counter,
    /// Active responses.
    pub ar: Counter,
    /// Requests.
    pub request: Counter,
    /// Messages that could not be sent.
    pub discarded: Counter,
}

/// Every counter of the service.
#[derive(Debug)]
pub struct Stats {
    start: Instant,
    /// Bytes read from agents.
    pub recv_bytes: Counter,
    /// Bytes written to agents.
    pub sent_bytes: Counter,
    /// Open TCP connections.
    pub tcp_sessions: Counter,
    /// Key table reloads.
    pub keys_reloads: Counter,
    /// Messages received.
    pub received: Received,
    /// Messages sent.
    pub sent: Sent,
    /// The syslog listener's counters.
    pub syslog: SyslogStats,
    /// The UDP sockets, whose kernel drops are read when the counters are.
    pub udp_sockets: UdpSockets,
    /// The cores' I/O driver, once they run.
    pub driver: std::sync::OnceLock<&'static str>,
    /// Closed connections and dropped datagrams, by reason, with each reason's log throttle.
    closed: Mutex<BTreeMap<&'static str, (u64, Arc<Throttle>)>>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            start: Instant::now(),
            recv_bytes: Counter::default(),
            sent_bytes: Counter::default(),
            tcp_sessions: Counter::default(),
            keys_reloads: Counter::default(),
            received: Received::default(),
            sent: Sent::default(),
            syslog: SyslogStats::default(),
            udp_sockets: UdpSockets::default(),
            driver: std::sync::OnceLock::new(),
            closed: Mutex::default(),
        }
    }
}

impl Stats {
    /// Counts a connection closed (or a datagram dropped) for `reason`, with a throttled log
    /// line: enough to see, never a flood.
    pub fn refuse(&self, reason: &'static str, peer: IpAddr, detail: &str) {
        self.received.unknown.inc();
        let (total, throttle) = {
            let mut counts = crate::sync::lock(&self.closed);
            let (n, throttle) = counts.entry(reason).or_default();
            *n += 1;
            (*n, Arc::clone(throttle))
        };
        if let Some(suffix) = throttle.allow().suffix() {
            warn!(%peer, reason, total, "Agent message refused, connection closed: {detail}{suffix}");
        }
    }

    /// Refusals by reason.
    pub fn refusals(&self) -> Vec<(&'static str, u64)> {
        crate::sync::lock(&self.closed).iter().map(|(k, (n, _))| (*k, *n)).collect()
    }

    /// Seconds since the service started.
    pub fn uptime(&self) -> u64 {
        self.start.elapsed().as_secs()
    }

    fn control(&self) -> u64 {
        let r = &self.received;
        r.keepalive.get() + r.startup.get() + r.shutdown.get() + r.request.get()
    }

    /// What `getstats` answers (remoted's `rem_create_state_json`).
    pub fn json(&self, now: i64) -> Value {
        let (r, s) = (&self.received, &self.sent);
        json!({
            // remoted reports when it started, not for how long.
            "uptime": now - i64::try_from(self.uptime()).unwrap_or(0),
            "timestamp": now,
            "name": "wazuh-remoted",
            "metrics": {
                "bytes": {"received": self.recv_bytes.get(), "sent": self.sent_bytes.get()},
                "keys_reload_count": self.keys_reloads.get(),
                "messages": {
                    "received_breakdown": {
                        "control": self.control(),
                        "control_breakdown": {
                            "keepalive": r.keepalive.get(),
                            "request": r.request.get(),
                            "shutdown": r.shutdown.get(),
                            "startup": r.startup.get(),
                        },
                        "dequeued_after": 0,
                        "discarded": r.discarded.get(),
                        "event": r.event.get(),
                        "ping": r.ping.get(),
                        "unknown": r.unknown.get(),
                    },
                    "sent_breakdown": {
                        "ack": s.ack.get(),
                        "ar": s.ar.get(),
                        "discarded": s.discarded.get(),
                        "request": s.request.get(),
                        "sca": 0,
                        "shared": s.shared.get(),
                    },
                },
                // Events are analysed on the core that read them: there is no queue to fill.
                "queues": {"received": {"size": 0, "usage": 0}},
                "tcp_sessions": self.tcp_sessions.get(),
            }
        })
    }

    /// `var/run/wazuh-remoted.state`, in remoted's layout, rewritten every `interval` seconds.
    pub fn state_file(&self, interval: u64) -> String {
        let r = &self.received;
        format!(
            "# State file for wazuh-remoted\n# THIS FILE WILL BE DEPRECATED IN FUTURE VERSIONS\n\
             # Updated every {interval} seconds.\n\n# Queue size\nqueue_size='0'\n\n\
             # Total queue size\ntotal_queue_size='0'\n\n# TCP sessions\ntcp_sessions='{}'\n\n\
             # Events sent to Analysisd\nevt_count='{}'\n\n# Control messages received\nctrl_msg_count='{}'\n\n\
             # Discarded messages\ndiscarded_count='{}'\n\n# Total number of bytes sent\nsent_bytes='{}'\n\n\
             # Total number of bytes received\nrecv_bytes='{}'\n\n\
             # Messages dequeued after the agent closes the connection\ndequeued_after_close='0'\n\n",
            self.tcp_sessions.get(),
            r.event.get(),
            self.control(),
            r.discarded.get(),
            self.sent_bytes.get(),
            self.recv_bytes.get(),
        )
    }

    /// The counters as Prometheus metrics.
    pub fn expose(&self, out: &mut Exposition) {
        out.counter("vigil_remote_received_bytes_total", "Bytes read from agents.", &[], self.recv_bytes.get());
        out.counter("vigil_remote_sent_bytes_total", "Bytes written to agents.", &[], self.sent_bytes.get());
        out.gauge("vigil_remote_tcp_sessions", "Open agent TCP connections.", &[], self.tcp_sessions.get());
        if let Some(driver) = self.driver.get() {
            out.gauge("vigil_remote_io_driver", "The data plane's I/O driver.", &[("driver", driver)], 1);
        }
        for (kind, dropped) in self.udp_sockets.drops() {
            let help = "Datagrams the kernel dropped before a core read them, by what the socket carries.";
            out.counter("vigil_remote_udp_dropped_total", help, &[("kind", kind)], dropped);
        }
        let r = &self.received;
        let received = [
            ("event", &r.event),
            ("keepalive", &r.keepalive),
            ("startup", &r.startup),
            ("shutdown", &r.shutdown),
            ("request", &r.request),
            ("ping", &r.ping),
            ("unknown", &r.unknown),
            ("discarded", &r.discarded),
        ];
        let help = "Messages received from agents, by kind.";
        by_kind(out, "vigil_remote_received_messages_total", help, &received);
        let s = &self.sent;
        let sent = [
            ("ack", &s.ack),
            ("shared", &s.shared),
            ("ar", &s.ar),
            ("request", &s.request),
            ("discarded", &s.discarded),
        ];
        by_kind(out, "vigil_remote_sent_messages_total", "Messages sent to agents, by kind.", &sent);
        let syslog = [
            ("vigil_syslog_events_total", "Syslog lines sent to the engine.", &self.syslog.events),
            (
                "vigil_syslog_denied_total",
                "Syslog datagrams and connections refused by the access lists.",
                &self.syslog.denied,
            ),
            ("vigil_syslog_too_long_total", "Syslog senders cut for an over-long line.", &self.syslog.too_long),
        ];
        for (name, help, counter) in syslog {
            out.counter(name, help, &[], counter.get());
        }
        for (reason, n) in self.refusals() {
            let help = "Agent connections closed or datagrams dropped, by reason.";
            out.counter("vigil_remote_refused_total", help, &[("reason", reason)], n);
        }
    }
}

/// One metric's samples, labelled by kind.
fn by_kind(out: &mut Exposition, name: &str, help: &str, counters: &[(&str, &Counter)]) {
    for (kind, counter) in counters {
        out.counter(name, help, &[("kind", kind)], counter.get());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_read_the_same_three_ways() {
        let stats = Stats::default();
        stats.received.event.add(5);
        stats.received.keepalive.add(2);
        stats.received.startup.inc();
        stats.sent.ack.add(3);
        stats.tcp_sessions.inc();
        stats.refuse("wrong_key", IpAddr::from([10, 0, 0, 1]), "test");
        let json = stats.json(1_700_000_000);
        assert_eq!(json["metrics"]["messages"]["received_breakdown"]["event"], 5);
        assert_eq!(json["metrics"]["messages"]["received_breakdown"]["control"], 3);
        assert_eq!(json["metrics"]["messages"]["received_breakdown"]["unknown"], 1);
        assert_eq!(json["metrics"]["messages"]["sent_breakdown"]["ack"], 3);
        assert_eq!(json["metrics"]["tcp_sessions"], 1);
        let file = stats.state_file(5);
        assert!(file.contains("evt_count='5'\n") && file.contains("ctrl_msg_count='3'\n"), "{file}");
        assert!(file.contains("# Updated every 5 seconds."));
        let mut exposition = Exposition::default();
        stats.expose(&mut exposition);
        let text = exposition.finish();
        assert!(text.contains("vigil_remote_received_messages_total{kind=\"event\"} 5\n"), "{text}");
        assert!(text.contains("vigil_remote_refused_total{reason=\"wrong_key\"} 1\n"), "{text}");
        assert_eq!(text.matches("# TYPE vigil_remote_received_messages_total counter").count(), 1);
    }
}
