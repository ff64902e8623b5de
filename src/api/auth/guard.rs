//! Brute-force and flood protection: per-address login lockout (Wazuh's
//! `max_login_attempts`/`block_time`, code 6000) and a per-client request rate
//! (`max_request_per_minute`, code 6001; per client, as Wazuh does since PR #38874).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

/// Addresses tracked before stale entries are swept.
const SWEEP_AT: usize = 16_384;

#[derive(Debug, Clone, Copy)]
struct Attempts {
    failures: u32,
    since: i64,
}

/// Requests counted in one minute.
#[derive(Debug, Clone, Copy, Default)]
pub struct Window {
    minute: i64,
    count: u32,
}

impl Window {
    /// A window before any request (for statics).
    pub const NEW: Self = Self { minute: 0, count: 0 };

    /// Counts a request at `now` (Unix seconds); `false` when it is past `limit` this minute.
    pub fn admit(&mut self, now: i64, limit: u32) -> bool {
        if self.minute != now / 60 {
            *self = Self { minute: now / 60, count: 0 };
        }
        self.count += 1;
        self.count <= limit
    }
}

/// Lockout and rate state.
#[derive(Debug)]
pub struct Guard {
    max_failures: u32,
    block_time: i64,
    per_minute: u32,
    logins: Mutex<HashMap<IpAddr, Attempts>>,
    requests: Mutex<HashMap<IpAddr, Window>>,
}

impl Guard {
    /// A guard with these limits (`per_minute` 0: no rate limit).
    pub fn new(max_failures: u32, block_time: Duration, per_minute: u32) -> Self {
        Self {
            max_failures,
            block_time: i64::try_from(block_time.as_secs()).unwrap_or(i64::MAX),
            per_minute,
            logins: Mutex::new(HashMap::new()),
            requests: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `ip` is blocked from logging in at `now` (Unix seconds).
    pub fn is_blocked(&self, ip: IpAddr, now: i64) -> bool {
        let mut logins = crate::sync::lock(&self.logins);
        match logins.get(&ip) {
            Some(a) if now - a.since >= self.block_time => {
                logins.remove(&ip);
                false
            }
            Some(a) => a.failures >= self.max_failures,
            None => false,
        }
    }

    /// Counts a failed login from `ip`.
    pub fn failed_login(&self, ip: IpAddr, now: i64) {
        let mut logins = crate::sync::lock(&self.logins);
        if logins.len() >= SWEEP_AT {
            let block = self.block_time;
            logins.retain(|_, a| now - a.since < block);
        }
        let entry = logins.entry(ip).or_insert(Attempts { failures: 0, since: now });
        if now - entry.since >= self.block_time {
            *entry = Attempts { failures: 0, since: now };
        }
        entry.failures += 1;
        if entry.failures == self.max_failures {
            tracing::warn!(stage = "api", %ip, "login blocked for {} s after {} failed attempts", self.block_time, entry.failures);
        }
    }

    /// Counts a request from `ip`; `false` when it is over the rate.
    pub fn admit(&self, ip: IpAddr, now: i64) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let mut requests = crate::sync::lock(&self.requests);
        if requests.len() >= SWEEP_AT {
            requests.retain(|_, w| w.minute == now / 60);
        }
        requests.entry(ip).or_default().admit(now, self.per_minute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn an_address_is_blocked_after_the_limit_until_the_block_time_passes() {
        let g = Guard::new(3, Duration::from_secs(300), 0);
        for _ in 0..3 {
            assert!(!g.is_blocked(A, 1000));
            g.failed_login(A, 1000);
        }
        assert!(g.is_blocked(A, 1001));
        assert!(!g.is_blocked(B, 1001), "other addresses are not affected");
        assert!(!g.is_blocked(A, 1300), "unblocked after block_time");
    }

    #[test]
    fn the_rate_is_per_client_and_per_minute() {
        let g = Guard::new(50, Duration::from_secs(300), 2);
        assert!(g.admit(A, 60));
        assert!(g.admit(A, 61));
        assert!(!g.admit(A, 62));
        assert!(g.admit(B, 62));
        assert!(g.admit(A, 120), "a new minute");
        assert!(Guard::new(1, Duration::from_secs(1), 0).admit(A, 0), "0 turns it off");
    }
}
