//! First-time-seen keys for `<if_fts>` rules (Wazuh's `fts.c`): a rule with `if_fts` matches
//! only the first time the decoder's `<fts>` fields take a given combination of values.

use std::collections::{HashSet, VecDeque};

use super::event::Event;
use crate::ruleset::decoder::{Decoder, DecoderType, Slot, StaticField};

/// Longest key Wazuh builds (`OS_FLSIZE`).
const MAX_KEY: usize = 256;
/// Common prefix beyond which two IDS keys count as similar (`analysisd.fts_min_size_for_str`).
const SIMILAR_PREFIX: usize = 14;
/// Recent IDS keys compared for similarity (`analysisd.fts_list_size`).
const RECENT: usize = 32;

/// The keys seen so far.
#[derive(Debug, Default)]
pub struct Fts {
    seen: HashSet<String>,
    recent: VecDeque<String>,
}

/// The key of `event` decoded by `decoder`, or `None` when the decoder has no `<fts>`.
pub fn key(decoder: &Decoder, event: &Event) -> Option<String> {
    if decoder.fts.is_empty() {
        return None;
    }
    let has = |w: &str| decoder.fts.iter().any(|f| f == w);
    let value = |on: bool, f: StaticField| if on { event.get(f).unwrap_or_default() } else { "" };
    let mut key = format!(
        "{} {} {} {} {} {} {} {} {}",
        decoder.name,
        value(has("id"), StaticField::Id),
        value(has("dstuser") || has("user"), StaticField::DstUser),
        value(has("srcuser"), StaticField::SrcUser),
        value(has("srcip"), StaticField::SrcIp),
        value(has("dstip"), StaticField::DstIp),
        value(has("data") || has("extra_data"), StaticField::Data),
        value(has("system_name"), StaticField::SystemName),
        if has("location") { event.pre.location.as_str() } else { "" },
    );
    truncate(&mut key, MAX_KEY - 1);
    for slot in &decoder.order {
        let Slot::Dynamic(name) = slot else { continue };
        if decoder.fts.iter().any(|f| f.eq_ignore_ascii_case(name))
            && let Some(v) = event.field(name)
        {
            key.push(' ');
            key.push_str(v);
            truncate(&mut key, MAX_KEY);
        }
    }
    Some(key)
}

fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut at = max;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
    }
}

impl Fts {
    /// Whether `key` is new; it is remembered either way. For IDS events, a key with more
    /// than two recent keys sharing a long prefix is cut to that prefix first, so floods of
    /// near-identical alerts count as one.
    pub fn first_time(&mut self, mut key: String, kind: DecoderType) -> bool {
        if self.seen.contains(&key) {
            return false;
        }
        if kind == DecoderType::Ids {
            let similar = |k: &String| k.bytes().zip(key.bytes()).take_while(|(a, b)| a == b).count() > SIMILAR_PREFIX;
            if self.recent.iter().rev().filter(|k| similar(k)).nth(2).is_some() {
                truncate(&mut key, SIMILAR_PREFIX);
            }
            if self.recent.len() >= RECENT {
                self.recent.pop_front();
            }
            self.recent.push_back(key.clone());
        }
        self.seen.insert(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_matches_once() {
        let mut fts = Fts::default();
        assert!(fts.first_time("sshd  root".into(), DecoderType::Syslog));
        assert!(!fts.first_time("sshd  root".into(), DecoderType::Syslog));
        assert!(fts.first_time("sshd  bob".into(), DecoderType::Syslog));
    }

    #[test]
    fn similar_ids_keys_collapse() {
        let mut fts = Fts::default();
        for i in 0..3 {
            assert!(fts.first_time(format!("snort-alert 1:2000:{i} 10.0.0.1"), DecoderType::Ids));
        }
        // The fourth similar key is cut to its common prefix, new once, then seen.
        assert!(fts.first_time("snort-alert 1:2000:9 10.0.0.1".into(), DecoderType::Ids));
        assert!(!fts.first_time("snort-alert 1:2000:8 10.0.0.1".into(), DecoderType::Ids));
    }
}
