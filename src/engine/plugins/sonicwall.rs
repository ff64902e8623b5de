//! `SonicWall_Decoder`: severity, category and message id, addresses and ports, protocol, and a
//! per-event type (IDS, firewall pass/drop/close, or squid for proxy messages).

use std::sync::LazyLock;

use crate::engine::event::Event;
use crate::ruleset::decoder::{DecoderType, StaticField};
use crate::ruleset::regex::OsRegex;

struct Patterns {
    id: OsRegex,
    addresses: OsRegex,
    proxy: OsRegex,
}

static PATTERNS: LazyLock<Option<Patterns>> = LazyLock::new(|| {
    Some(Patterns {
        id: OsRegex::new(r"pri=(\d) c=(\d+) m=(\d+) ").ok()?,
        addresses: OsRegex::new(r"src=(\d+.\d+.\d+.\d+):(\d+):\S+ dst=(\d+.\d+.\d+.\d+):(\d+):").ok()?,
        proxy: OsRegex::new(r"result=(\d+) dstname=(\S+) arg=(\S+)$").ok()?,
    })
});

fn text(bytes: &[u8]) -> String {
    crate::engine::text::lossy(bytes)
}

/// The C string at an end pointer (`-1` reads as empty).
fn at(log: &str, end: isize) -> &str {
    usize::try_from(end).ok().and_then(|i| log.get(i..)).unwrap_or_default()
}

/// Decodes `log` into `event`; sets the event's type.
pub fn decode(log: &str, event: &mut Event) {
    event.kind_override = Some(DecoderType::Syslog);
    let Some(p) = PATTERNS.as_ref() else {
        return;
    };
    let Some(m) = p.id.find(log.as_bytes()) else {
        return;
    };
    let [status, category, id] = m.captures[..] else {
        return;
    };
    let category: String = text(category).chars().take(7).collect();
    let id = text(id);
    event.set(StaticField::Status, text(status));
    event.set(StaticField::Id, id.clone());

    let rest = at(log, m.end);
    let Some(m) = p.addresses.find(rest.as_bytes()) else {
        return;
    };
    let [srcip, srcport, dstip, dstport] = m.captures[..] else {
        return;
    };
    event.set(StaticField::SrcIp, text(srcip));
    event.set(StaticField::SrcPort, text(srcport));
    event.set(StaticField::DstIp, text(dstip));
    event.set(StaticField::DstPort, text(dstport));
    let after = at(rest, m.end);
    let tail = after.find(' ').map(|i| &after[i + 1..]);
    if let Some(proto) = tail.and_then(|t| t.strip_prefix("proto=")) {
        let valid = |c: &char| c.is_ascii_alphanumeric() || "()-./@_".contains(*c);
        let proto: String = proto.chars().take_while(|c| valid(c) && *c != '/').take(6).collect();
        event.set(StaticField::Protocol, proto);
    }

    let (kind, action) = match (category.as_str(), id.as_str()) {
        ("32", _) => (DecoderType::Ids, None),
        (_, "98" | "597" | "598") => (DecoderType::Firewall, Some("pass")),
        (_, "38" | "36" | "173" | "174" | "37") => (DecoderType::Firewall, Some("drop")),
        (_, "537") => (DecoderType::Firewall, Some("close")),
        (_, "97") => (DecoderType::Squid, None),
        _ => return,
    };
    event.kind_override = Some(kind);
    if let Some(action) = action {
        event.set(StaticField::Action, action.to_owned());
    }
    if kind == DecoderType::Squid {
        let Some(tail) = tail else {
            return;
        };
        let Some(m) = p.proxy.find(tail.as_bytes()) else {
            return;
        };
        if let [code, host, arg] = m.captures[..] {
            event.set(StaticField::Id, text(code));
            event.set(StaticField::Url, format!("{}{}", text(host), text(arg)));
        }
    }
}
