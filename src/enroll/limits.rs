//! Admission before any TLS work: a cap on connections being served, a cap per source address,
//! and a per-address token bucket, so one source cannot starve the others.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

pub use crate::config::AuthLimits as Limits;
use crate::sync::lock;

/// Why a connection was turned away at the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turned {
    /// Every slot is taken.
    Busy,
    /// This address holds its share of slots.
    BusyAddress,
    /// This address connects faster than its rate.
    RateLimited,
}

#[derive(Debug)]
struct Source {
    tokens: f64,
    refilled: Instant,
    active: usize,
}

/// Tracks who is being served.
#[derive(Debug)]
pub struct Gate {
    limits: Limits,
    state: std::sync::Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    active: usize,
    sources: HashMap<IpAddr, Source>,
}

/// Entries kept before idle sources are forgotten.
const PRUNE_AT: usize = 4096;

impl Gate {
    /// A gate with these limits.
    pub fn new(limits: Limits) -> Arc<Self> {
        Arc::new(Self { limits, state: std::sync::Mutex::new(State::default()) })
    }

    /// Lets a connection from `ip` in, or says why not. The slot is held until the [`Ticket`]
    /// is dropped.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, now: Instant) -> Result<Ticket, Turned> {
        let limits = self.limits;
        let mut state = lock(&self.state);
        if state.active >= limits.max_handshakes {
            return Err(Turned::Busy);
        }
        if state.sources.len() >= PRUNE_AT {
            let full = f64::from(limits.rate_per_ip);
            state.sources.retain(|_, s| s.active > 0 || (limits.rate_per_ip > 0 && refill(s, full, now) < full));
        }
        let rate = f64::from(limits.rate_per_ip);
        let source = state.sources.entry(ip).or_insert(Source { tokens: rate, refilled: now, active: 0 });
        if source.active >= limits.max_handshakes_per_ip {
            return Err(Turned::BusyAddress);
        }
        if limits.rate_per_ip > 0 {
            if refill(source, rate, now) < 1.0 {
                return Err(Turned::RateLimited);
            }
            source.tokens -= 1.0;
        }
        source.active += 1;
        state.active += 1;
        Ok(Ticket { gate: Arc::clone(self), ip })
    }

    /// Connections being served now.
    pub fn active(&self) -> usize {
        lock(&self.state).active
    }
}

/// Adds the tokens earned since the last refill (capped at `rate`) and returns the balance.
fn refill(source: &mut Source, rate: f64, now: Instant) -> f64 {
    let earned = now.saturating_duration_since(source.refilled).as_secs_f64() * rate;
    source.tokens = (source.tokens + earned).min(rate);
    source.refilled = now;
    source.tokens
}

/// A held slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Ticket {
    gate: Arc<Gate>,
    ip: IpAddr,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = lock(&self.gate.state);
        state.active = state.active.saturating_sub(1);
        if let Some(source) = state.sources.get_mut(&self.ip) {
            source.active = source.active.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    fn limits() -> Limits {
        Limits {
            max_handshakes: 3,
            max_handshakes_per_ip: 2,
            rate_per_ip: 0,
            timeout: Duration::from_secs(1),
            max_request: 100,
        }
    }

    #[test]
    fn caps_are_global_and_per_address() {
        let gate = Gate::new(limits());
        let now = Instant::now();
        let a1 = gate.admit(A, now);
        let _a2 = gate.admit(A, now);
        assert_eq!(gate.admit(A, now).err(), Some(Turned::BusyAddress));
        let _b1 = gate.admit(B, now);
        assert_eq!(gate.admit(B, now).err(), Some(Turned::Busy));
        drop(a1);
        assert_eq!(gate.active(), 2);
        assert!(gate.admit(B, now).is_ok());
    }

    #[test]
    fn rate_refills_over_time() {
        let gate = Gate::new(Limits { rate_per_ip: 2, max_handshakes: 100, max_handshakes_per_ip: 100, ..limits() });
        let now = Instant::now();
        assert!(gate.admit(A, now).is_ok());
        assert!(gate.admit(A, now).is_ok());
        assert_eq!(gate.admit(A, now).err(), Some(Turned::RateLimited));
        assert!(gate.admit(B, now).is_ok(), "another address has its own bucket");
        assert!(gate.admit(A, now + Duration::from_millis(500)).is_ok());
    }
}
