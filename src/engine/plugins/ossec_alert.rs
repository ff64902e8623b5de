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
