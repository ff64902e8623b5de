//! `PF_Decoder`: OpenBSD pf lines, `... rule N/(match) pass|block ...: SRC.PORT > DST.PORT: proto`.

use crate::engine::event::Event;
use crate::ruleset::decoder::StaticField;

/// Splits `a.b.c.d.port` at its fourth dot.
fn split_port(addr: &str) -> (String, Option<String>) {
    match addr.match_indices('.').nth(3) {
        Some((i, _)) => (addr[..i].to_owned(), Some(addr[i + 1..].to_owned())),
        None => (addr.to_owned(), None),
    }
}

/// Decodes `log` into `event`.
pub fn decode(log: &str, event: &mut Event) {
    let Some(close) = log.find(')') else {
        return;
    };
    let Some(rest) = log[close + 1..].strip_prefix(' ') else {
        return;
    };
    let action = match rest.as_bytes().first() {
        Some(b'p') => "pass",
        Some(b'b') => "block",
        _ => return,
    };
    event.set(StaticField::Action, action.to_owned());
    let Some(colon) = rest.find(':') else {
        return;
    };
    let Some(src_text) = rest[colon + 1..].strip_prefix(' ') else {
        return;
    };
    let Some(space) = src_text.find(' ') else {
        return;
    };
    let (srcip, srcport) = split_port(&src_text[..space]);
    event.set(StaticField::SrcIp, srcip);
    if let Some(port) = srcport {
        event.set(StaticField::SrcPort, port);
    }
    let Some(dst_text) = src_text[space + 1..].strip_prefix("> ") else {
        return;
    };
    let Some(colon) = dst_text.find(':') else {
        return;
    };
    let (dstip, dstport) = split_port(&dst_text[..colon]);
    event.set(StaticField::DstIp, dstip);
    if let Some(port) = dstport {
        event.set(StaticField::DstPort, port);
    }
    let protocol = dst_text[colon + 1..].trim_start_matches(' ');
    let protocol = match protocol.as_bytes().first() {
        None => return,
        Some(b'u') => "UDP",
        Some(b'i') => "ICMP",
        Some(_) => "TCP",
    };
    event.set(StaticField::Protocol, protocol.to_owned());
}
