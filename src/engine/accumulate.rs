//! The accumulator (`<accumulate>` decoders): fields of related events with the same id fill
//! each other's blanks (Wazuh's `accumulator.c`).
//!
//! Keyed by `"<hostname> <decoder name> <id>"`. An entry younger than 120 s fills the event's
//! empty dstuser, srcuser, dstip, srcip, dstport, srcport and data; then the event's non-empty
//! values (under 81 characters) fill the entry's empty slots. Entries expire after 120 s; expired
//! ones are purged every 200 lookups.

use std::collections::HashMap;

use super::event::Event;
use crate::ruleset::decoder::StaticField;

const EXPIRE_SECS: i64 = 120;
const PURGE_EVERY: u32 = 200;
const MAX_VALUE: usize = 80;
const MAX_KEY: usize = 255;
const FIELDS: [StaticField; 7] = [
    StaticField::DstUser,
    StaticField::SrcUser,
    StaticField::DstIp,
    StaticField::SrcIp,
    StaticField::DstPort,
    StaticField::SrcPort,
    StaticField::Data,
];

#[derive(Debug, Default)]
struct Stored {
    timestamp: i64,
    values: [Option<String>; FIELDS.len()],
}

/// Accumulated fields (one per analysisd, or one per logtest session).
#[derive(Debug, Default)]
pub struct Accumulator {
    store: HashMap<String, Stored>,
    lookups: u32,
}

/// Wazuh's `acm_str_replace`: never overwrite a known value; only short non-empty ones.
fn fill(dst: &mut Option<String>, src: Option<&str>) {
    let Some(src) = src else { return };
    if dst.as_deref().is_some_and(|d| !d.is_empty()) || src.is_empty() || src.len() > MAX_VALUE {
        return;
    }
    *dst = Some(src.to_owned());
}

impl Accumulator {
    /// Applies the accumulator to an event decoded by `decoder_name`, at Unix time `now`.
    pub fn apply(&mut self, event: &mut Event, decoder_name: &str, now: i64) {
        let Some(id) = event.get(StaticField::Id) else {
            return;
        };
        self.lookups += 1;
        if self.lookups >= PURGE_EVERY {
            self.lookups = 0;
            self.store.retain(|_, s| s.timestamp >= now - EXPIRE_SECS);
        }
        let key = format!("{} {decoder_name} {id}", event.pre.hostname);
        if key.len() > MAX_KEY {
            return;
        }
        let stored = self.store.entry(key).or_default();
        if stored.timestamp > 0 && stored.timestamp < now - EXPIRE_SECS {
            *stored = Stored::default();
        } else {
            for (field, value) in FIELDS.iter().zip(&stored.values) {
                let mut current = event.get(*field).map(str::to_owned);
                fill(&mut current, value.as_deref());
                if let Some(v) = current {
                    event.set(*field, v);
                }
            }
        }
        stored.timestamp = now;
        for (field, slot) in FIELDS.iter().zip(&mut stored.values) {
            fill(slot, event.get(*field));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::predecode::predecode;

    fn event(fields: &[(StaticField, &str)]) -> Event {
        let mut e = Event::new(predecode(b"1:l:msg", "host").unwrap_or_else(|e| panic!("{e}")));
        for (f, v) in fields {
            e.set(*f, (*v).to_owned());
        }
        e
    }

    #[test]
    fn fills_blanks_from_recent_events_with_the_same_id() {
        let mut acc = Accumulator::default();
        let mut first = event(&[(StaticField::Id, "42"), (StaticField::SrcIp, "10.0.0.1")]);
        acc.apply(&mut first, "postfix", 100);
        let mut second = event(&[(StaticField::Id, "42"), (StaticField::DstUser, "bob")]);
        acc.apply(&mut second, "postfix", 150);
        assert_eq!(second.get(StaticField::SrcIp), Some("10.0.0.1"));
        let mut third = event(&[(StaticField::Id, "42")]);
        acc.apply(&mut third, "postfix", 160);
        assert_eq!((third.get(StaticField::SrcIp), third.get(StaticField::DstUser)), (Some("10.0.0.1"), Some("bob")));
        let mut other_id = event(&[(StaticField::Id, "43")]);
        acc.apply(&mut other_id, "postfix", 160);
        assert_eq!(other_id.get(StaticField::SrcIp), None);
        let mut late = event(&[(StaticField::Id, "42")]);
        acc.apply(&mut late, "postfix", 400);
        assert_eq!(late.get(StaticField::SrcIp), None, "entries expire after 120 s");
    }

    #[test]
    fn known_values_are_kept_and_long_ones_ignored() {
        let mut acc = Accumulator::default();
        let long = "x".repeat(81);
        let mut first = event(&[(StaticField::Id, "1"), (StaticField::SrcIp, "a"), (StaticField::Data, &long)]);
        acc.apply(&mut first, "d", 1);
        let mut second = event(&[(StaticField::Id, "1"), (StaticField::SrcIp, "b")]);
        acc.apply(&mut second, "d", 2);
        assert_eq!(second.get(StaticField::SrcIp), Some("b"));
        assert_eq!(second.get(StaticField::Data), None);
    }
}
