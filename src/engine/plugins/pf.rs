//! `PF_Decoder`: OpenBSD pf lines, `... rule N/(match) pass|block ...: SRC.PORT > DST.PORT: proto`.

use crate::engine::event::Event;
use crate::ruleset::decoder::StaticField;

/// Sets an address and, after its fourth dot, its port (`a.b.c.d.port`).
fn set_endpoint(event: &mut Event, text: &str, ip: StaticField, port: StaticField) {
    match text.match_indices('.').nth(3) {
        Some((i, _)) => {
            event.set(ip, text[..i].to_owned());
            event.set(port, text[i + 1..].to_owned());
        }
        None => event.set(ip, text.to_owned()),
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
    set_endpoint(event, &src_text[..space], StaticField::SrcIp, StaticField::SrcPort);
    let Some(dst_text) = src_text[space + 1..].strip_prefix("> ") else {
        return;
    };
    let Some(colon) = dst_text.find(':') else {
        return;
    };
    set_endpoint(event, &dst_text[..colon], StaticField::DstIp, StaticField::DstPort);
    let protocol = dst_text[colon + 1..].trim_start_matches(' ');
    let protocol = match protocol.as_bytes().first() {
        None => return,
        Some(b'u') => "UDP",
        Some(b'i') => "ICMP",
        Some(_) => "TCP",
    };
    event.set(StaticField::Protocol, protocol.to_owned());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::predecode::predecode;

    fn decoded(log: &str) -> Event {
        let mut event = Event::new(predecode(b"1:pf:x", "m").unwrap_or_else(|e| panic!("{e}")));
        decode(log, &mut event);
        event
    }

    #[test]
    fn pass_and_block_lines() {
        let e = decoded(
            "Mar 30 15:54:22.171929 rule 3/(match) pass out on xl0: 192.168.2.10.1514 > 192.168.2.1.53: udp 36",
        );
        let get = |f| e.get(f).map(str::to_owned);
        assert_eq!(get(StaticField::Action).as_deref(), Some("pass"));
        assert_eq!(get(StaticField::SrcIp).as_deref(), Some("192.168.2.10"));
        assert_eq!(get(StaticField::SrcPort).as_deref(), Some("1514"));
        assert_eq!(get(StaticField::DstIp).as_deref(), Some("192.168.2.1"));
        assert_eq!(get(StaticField::DstPort).as_deref(), Some("53"));
        assert_eq!(get(StaticField::Protocol).as_deref(), Some("UDP"));
        let e = decoded("rule 1/(match) block in on em0: 10.0.0.1 > 10.0.0.2: icmp: echo request");
        assert_eq!((e.get(StaticField::Action), e.get(StaticField::SrcPort)), (Some("block"), None));
        assert_eq!(e.get(StaticField::Protocol), Some("ICMP"));
        let e = decoded("no rule here");
        assert_eq!(e.get(StaticField::Action), None);
    }
}
