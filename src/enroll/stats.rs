//! What happened to each connection, counted by outcome, and refusal log lines that cannot
//! flood the log (one [`Throttle`] per outcome).

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use tracing::warn;

use crate::logging::throttle::Throttle;

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An agent was enrolled and got its key.
    Enrolled,
    /// The request was refused with an `ERROR:` answer.
    Refused,
    /// Turned away: every slot taken.
    Busy,
    /// Turned away: the source holds its share of slots.
    BusyAddress,
    /// Turned away: the source connects too fast.
    RateLimited,
    /// The TLS handshake failed (not TLS, wrong CA, no client certificate…).
    HandshakeFailed,
    /// The agent certificate does not name the source address (`<ssl_verify_host>`).
    BadCertificate,
    /// No complete request within the time allowed.
    TimedOut,
    /// The request grew past the size limit without a newline.
    TooLarge,
    /// The peer closed before sending a newline.
    NoNewline,
    /// The store failed.
    Internal,
}

impl Outcome {
    /// Every outcome, in the order counters are listed.
    pub const ALL: [Outcome; 11] = [
        Self::Enrolled,
        Self::Refused,
        Self::Busy,
        Self::BusyAddress,
        Self::RateLimited,
        Self::HandshakeFailed,
        Self::BadCertificate,
        Self::TimedOut,
        Self::TooLarge,
        Self::NoNewline,
        Self::Internal,
    ];

    /// The counter's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Enrolled => "enrolled",
            Self::Refused => "refused",
            Self::Busy => "busy",
            Self::BusyAddress => "busy_address",
            Self::RateLimited => "rate_limited",
            Self::HandshakeFailed => "handshake_failed",
            Self::BadCertificate => "bad_certificate",
            Self::TimedOut => "timed_out",
            Self::TooLarge => "too_large",
            Self::NoNewline => "no_newline",
            Self::Internal => "internal_error",
        }
    }
}

/// Counters by outcome.
#[derive(Debug, Default)]
pub struct Counters {
    counts: [AtomicU64; Outcome::ALL.len()],
    throttles: [Throttle; Outcome::ALL.len()],
}

impl Counters {
    /// Counts one connection's outcome.
    pub fn count(&self, outcome: Outcome) {
        self.counts[outcome as usize].fetch_add(1, Relaxed);
    }

    /// How many connections ended this way.
    pub fn get(&self, outcome: Outcome) -> u64 {
        self.counts[outcome as usize].load(Relaxed)
    }

    /// Every counter by name.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        Outcome::ALL.iter().map(|&o| (o.name(), self.get(o))).collect()
    }

    /// Counts a refusal and logs it with its source, unless this outcome already logged its
    /// share of lines this second.
    pub fn refuse(&self, outcome: Outcome, source: IpAddr, detail: &str) {
        self.count(outcome);
        if let Some(suffix) = self.throttles[outcome as usize].allow().suffix() {
            warn!(%source, reason = outcome.name(), "Enrollment connection refused: {detail}{suffix}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_counts() {
        let counters = Counters::default();
        for _ in 0..50 {
            counters.refuse(Outcome::RateLimited, IpAddr::from([127, 0, 0, 1]), "too fast");
        }
        assert_eq!(counters.get(Outcome::RateLimited), 50);
        assert!(counters.snapshot().contains(&("rate_limited", 50)));
    }
}
