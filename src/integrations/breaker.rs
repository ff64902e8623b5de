//! A circuit breaker per integration: after [`THRESHOLD`] failures in a row the service is
//! taken as down and nothing is sent to it for a cool-down (doubling each time it opens again,
//! up to [`MAX_OPEN`]); then one alert probes it. Alerts wait in the log meanwhile, so a dead
//! service costs one probe per cool-down, not a timeout per alert.

use std::time::{Duration, Instant};

/// Failures in a row that open the breaker.
pub const THRESHOLD: u32 = 5;

/// The first cool-down.
const FIRST_OPEN: Duration = Duration::from_secs(5);

/// The longest cool-down.
const MAX_OPEN: Duration = Duration::from_secs(300);

/// The breaker's state.
#[derive(Debug, Default)]
pub struct Breaker {
    failures: u32,
    opened: u32,
    open_until: Option<Instant>,
    probing: bool,
}

/// What a sender may do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Send.
    Go,
    /// Send: the one request that probes an open breaker.
    Probe,
    /// Wait this long, then ask again.
    Wait(Duration),
}

impl Breaker {
    /// Whether a request may go at `now`: always while closed; once open, a single probe after
    /// the cool-down.
    pub fn gate(&mut self, now: Instant) -> Gate {
        match self.open_until {
            None => Gate::Go,
            Some(until) if until > now => Gate::Wait(until - now),
            Some(_) if self.probing => Gate::Wait(Duration::from_millis(200)),
            Some(_) => {
                self.probing = true;
                Gate::Probe
            }
        }
    }

    /// The service answered: closed again.
    pub fn success(&mut self) {
        *self = Self::default();
    }

    /// A request failed (`probe`: the one [`Gate::Probe`] let through); gives true when this
    /// opened the breaker. Once it is open, only the probe's failure counts: requests sent
    /// before it opened change nothing.
    pub fn failure(&mut self, now: Instant, probe: bool) -> bool {
        if self.open_until.is_some() && !probe {
            return false;
        }
        self.failures += 1;
        let reopen = probe;
        self.probing = false;
        if self.failures >= THRESHOLD || reopen {
            self.trip(now);
            return true;
        }
        false
    }

    /// A request that never reached the service (nothing for it to do): a probe is owed again.
    pub fn skipped(&mut self) {
        self.probing = false;
    }

    /// Opens the breaker for the next cool-down.
    fn trip(&mut self, now: Instant) {
        let wait = FIRST_OPEN.saturating_mul(1 << self.opened.min(6)).min(MAX_OPEN);
        self.opened += 1;
        self.failures = 0;
        self.probing = false;
        self.open_until = Some(now + wait);
    }

    /// Whether it is open (or probing).
    pub fn is_open(&self) -> bool {
        self.open_until.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_failures_probes_once_and_backs_off() {
        let t0 = Instant::now();
        let mut b = Breaker::default();
        for _ in 1..THRESHOLD {
            assert!(!b.failure(t0, false));
            assert_eq!(b.gate(t0), Gate::Go);
        }
        assert!(b.failure(t0, false), "the fifth failure in a row opens it");
        assert!(matches!(b.gate(t0), Gate::Wait(w) if w == FIRST_OPEN));
        let later = t0 + FIRST_OPEN;
        assert_eq!(b.gate(later), Gate::Probe, "one probe after the cool-down");
        assert!(matches!(b.gate(later), Gate::Wait(_)), "and only one");
        assert!(!b.failure(later, false), "a request sent before it opened does not count");
        b.skipped();
        assert_eq!(b.gate(later), Gate::Probe, "a probe that did not reach the service is owed again");
        assert!(b.failure(later, true), "a failed probe opens it again");
        assert!(matches!(b.gate(later), Gate::Wait(w) if w == FIRST_OPEN * 2), "for twice as long");
        b.success();
        assert!(!b.is_open());
        assert_eq!(b.gate(later), Gate::Go);
    }
}
