//! `OSSECAlert_Decoder`: an alert forwarded by another OSSEC/Wazuh manager,
//! `ossec: Alert Level: N; Rule: ID - text; Location: X; [srcip: a;] [user: b;] log`.
//!
//! The event then carries that rule ready-made (type OSSEC_ALERT skips rule matching), its
//! location becomes `<old>|X` and its log the original line.

use crate::engine::event::Event;
use crate::ruleset::decoder::{DecoderType, StaticField};

/// Longest location Wazuh builds here.
const MAX_LOCATION: usize = 254;
/// Longest log it keeps.
const MAX_LOG: usize = 4094;

/// Decodes `log`. `rule_exists` says whether a rule id is loaded. Returns the new log when the
/// line was an alert.
pub fn decode(log: &str, event: &mut Event, rule_exists: &dyn Fn(&str) -> bool) -> Option<String> {
    event.kind_override = Some(DecoderType::OssecAlert);
    if !log.starts_with("Alert Level: ") && !log.starts_with("ossec: Alert Level:") {
        return None;
    }
    let after_level = &log[log.find(';')? + 1..];
    let after_colon = &after_level[after_level.find(':')? + 1..];
    let id_text = after_colon.strip_prefix(' ')?;
    let id = &id_text[..id_text.find(' ')?];
    if !rule_exists(id) {
        tracing::warn!(rule = id, "Rule id not found internally");
        return None;
    }
    let rest = &id_text[id.len()..];
    let rest = &rest[rest.find(';')? + 1..];
    let location_text = rest.strip_prefix(" Location: ")?;
    let end = location_text.find(';')?;
    let mut location = format!("{}|{}", event.pre.location, &location_text[..end]);
    if location.len() > MAX_LOCATION {
        let cut = (0..=MAX_LOCATION).rev().find(|&i| location.is_char_boundary(i)).unwrap_or(0);
        location.truncate(cut);
    }
    event.pre.hostname.clone_from(&location);
    event.pre.location = location;
    let mut tail = &location_text[end + 1..];
    while tail.starts_with(' ') && !tail[1..].starts_with(' ') {
        let body = &tail[1..];
        let close = body.find(';')?;
        let pair = &body[..close];
        if let Some(ip) = pair.strip_prefix("srcip: ") {
            event.set(StaticField::SrcIp, ip.to_owned());
        }
        if let Some(user) = pair.strip_prefix("user: ") {
            event.set(StaticField::DstUser, user.to_owned());
        }
        tail = &body[close + 1..];
    }
    let tail = tail.trim_start_matches(' ');
    let cut = (0..=tail.len().min(MAX_LOG)).rev().find(|&i| tail.is_char_boundary(i)).unwrap_or(0);
    let new_log = tail[..cut].to_owned();
    event.pre.full_log.clone_from(&new_log);
    event.preset_rule = Some(id.to_owned());
    Some(new_log)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::predecode::predecode;

    const LOG: &str = "ossec: Alert Level: 10; Rule: 5712 - SSHD brute force; Location: (web01) 10.0.0.5->/var/log/secure; srcip: 1.2.3.4; user: root;  Dec 10 01:02:03 web01 sshd[9]: Failed password";

    /// Fields end at two spaces (a single one would start another `key: value;`).
    #[test]
    fn forwarded_alert_carries_its_rule_and_original_log() {
        let mut e = Event::new(predecode(b"1:remote:x", "m").unwrap_or_else(|e| panic!("{e}")));
        let new_log = decode(LOG, &mut e, &|id| id == "5712");
        assert_eq!(new_log.as_deref(), Some("Dec 10 01:02:03 web01 sshd[9]: Failed password"));
        assert_eq!(e.preset_rule.as_deref(), Some("5712"));
        assert_eq!(e.pre.location, "remote|(web01) 10.0.0.5->/var/log/secure");
        assert_eq!(e.pre.hostname, e.pre.location);
        assert_eq!((e.get(StaticField::SrcIp), e.get(StaticField::DstUser)), (Some("1.2.3.4"), Some("root")));
        assert_eq!(e.kind_override, Some(DecoderType::OssecAlert));
    }

    #[test]
    fn unknown_rule_or_other_text_changes_nothing_but_the_type() {
        let mut e = Event::new(predecode(b"1:remote:x", "m").unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(decode(LOG, &mut e, &|_| false), None);
        assert_eq!((e.pre.location.as_str(), e.preset_rule.as_deref()), ("remote", None));
        assert_eq!(decode("hello", &mut e, &|_| true), None);
        assert_eq!(e.kind_override, Some(DecoderType::OssecAlert), "Wazuh sets the type before any check");
    }
}
