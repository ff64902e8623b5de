//! The text formats of `alerts.log` (Wazuh's `OS_Log`) and `archives.log` (`OS_Store`)
//! (engine.md §7.2–7.3).

use std::fmt::Write as _;

use jiff::civil::DateTime;

use super::AlertId;
use crate::engine::event::Event;
use crate::ruleset::decoder::StaticField;

/// What `alerts.log` shows of the rule that fired.
#[derive(Debug, Clone, Copy)]
pub struct RuleLine<'a> {
    /// Rule id.
    pub id: u32,
    /// Level.
    pub level: u8,
    /// The description, `$(field)`s already replaced.
    pub description: &'a str,
    /// The raw group string (`syslog,sshd,`).
    pub groups: &'a str,
    /// Whether the rule mails (`alert_by_email`, or the level).
    pub mail: bool,
}

/// `YYYY Mon DD HH:MM:SS [host->]location`: the host is left out for agent locations, which
/// start with `(`.
fn when_and_where(out: &mut String, when: DateTime, event: &Event) {
    let _ = write!(out, "{} ", when.strftime("%Y %b %d %H:%M:%S"));
    let location = &event.pre.location;
    if !location.starts_with('(') {
        out.push_str(&event.pre.hostname);
        out.push_str("->");
    }
    out.push_str(location);
}

/// Agent keepalives, which Wazuh never archives.
pub fn is_keepalive(event: &Event) -> bool {
    let location = &event.pre.location;
    location == "ossec-keepalive" || location.contains("->ossec-keepalive")
}

/// The `archives.log` line of `event` received at `when`; `None` for agent keepalives, which
/// Wazuh does not archive.
pub fn archive_line(when: DateTime, event: &Event) -> Option<String> {
    if is_keepalive(event) {
        return None;
    }
    let mut out = String::with_capacity(64 + event.pre.full_log.len());
    when_and_where(&mut out, when, event);
    out.push(' ');
    out.push_str(&event.pre.full_log);
    out.push('\n');
    Some(out)
}

/// The `alerts.log` block of an alert: header, where and when, agent labels (`key: value`
/// lines, already filtered), the rule, the address and user lines that are set, the full log,
/// the non-empty dynamic fields, the correlated events' logs, and a blank line. FIM events show
/// their `Attributes:` section instead of the dynamic fields.
pub fn alert_block(
    id: AlertId,
    when: DateTime,
    rule: &RuleLine<'_>,
    event: &Event,
    labels: &[(String, String)],
    last_events: &[std::sync::Arc<str>],
) -> String {
    let mut out = String::with_capacity(256 + event.pre.full_log.len());
    let mail = if rule.mail { " mail " } else { "" };
    let _ = writeln!(out, "** Alert {id}:{mail} - {}", rule.groups);
    when_and_where(&mut out, when, event);
    out.push('\n');
    for (key, value) in labels {
        let _ = writeln!(out, "{key}: {value}");
    }
    let _ = write!(out, "Rule: {} (level {}) -> '{}'", rule.id, rule.level, rule.description);
    for (label, field) in [
        ("Src IP", StaticField::SrcIp),
        ("Src Port", StaticField::SrcPort),
        ("Dst IP", StaticField::DstIp),
        ("Dst Port", StaticField::DstPort),
        ("User", StaticField::DstUser),
    ] {
        if let Some(value) = event.get(field) {
            let _ = write!(out, "\n{label}: {value}");
        }
    }
    out.push('\n');
    out.push_str(&event.pre.full_log);
    out.push('\n');
    if let Some(fim) = &event.fim {
        out.push_str(&fim.text);
    } else if event.decoder.is_some() {
        for (key, value) in event.dynamic().iter().filter(|(_, v)| !v.is_empty()) {
            let _ = writeln!(out, "{key}: {value}");
        }
    }
    for line in last_events {
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::predecode::predecode;

    fn event(raw: &[u8]) -> Event {
        Event::new(predecode(raw, "manager").expect("predecode"))
    }

    #[test]
    fn alert_block_as_os_log_writes_it() {
        let mut e =
            event(b"1:/var/log/auth.log:Nov 12 10:11:12 web01 sshd[77]: Failed password for root from 10.0.0.5");
        e.set(StaticField::SrcIp, "10.0.0.5".into());
        e.set(StaticField::DstUser, "root".into());
        e.decoder = Some(0);
        e.push_dynamic("port".into(), "2222".into());
        e.push_dynamic("empty".into(), String::new());
        let rule = RuleLine {
            id: 5760,
            level: 5,
            description: "sshd: authentication failed.",
            groups: "syslog,sshd,authentication_failed,",
            mail: false,
        };
        let when = jiff::civil::datetime(2026, 11, 27, 9, 5, 3, 0);
        let block = alert_block(AlertId { seconds: 1_764_234_303, sequence: 9 }, when, &rule, &e, &[], &[]);
        assert_eq!(
            block,
            "** Alert 1764234303.9: - syslog,sshd,authentication_failed,\n\
             2026 Nov 27 09:05:03 web01->/var/log/auth.log\n\
             Rule: 5760 (level 5) -> 'sshd: authentication failed.'\n\
             Src IP: 10.0.0.5\n\
             User: root\n\
             Nov 12 10:11:12 web01 sshd[77]: Failed password for root from 10.0.0.5\n\
             port: 2222\n\n"
        );
    }

    #[test]
    fn agent_alert_with_mail_labels_and_previous_events() {
        let e = event(b"1:[001] (db01) 10.0.0.9->/var/log/secure:something happened");
        let rule = RuleLine { id: 100_001, level: 10, description: "d", groups: "local,", mail: true };
        let when = jiff::civil::datetime(2026, 1, 2, 3, 4, 5, 0);
        let labels = vec![("env".to_owned(), "prod".to_owned())];
        let block = alert_block(AlertId { seconds: 1, sequence: 2 }, when, &rule, &e, &labels, &["earlier".into()]);
        assert_eq!(
            block,
            "** Alert 1.2: mail  - local,\n\
             2026 Jan 02 03:04:05 (db01) 10.0.0.9->/var/log/secure\n\
             env: prod\n\
             Rule: 100001 (level 10) -> 'd'\n\
             something happened\n\
             earlier\n\n"
        );
    }

    #[test]
    fn archive_lines() {
        let when = jiff::civil::datetime(2026, 11, 27, 23, 59, 59, 0);
        let local = event(b"1:/var/log/syslog:hello");
        assert_eq!(
            archive_line(when, &local).as_deref(),
            Some("2026 Nov 27 23:59:59 manager->/var/log/syslog hello\n")
        );
        let agent = event(b"1:[002] (web) any->app:hi");
        assert_eq!(archive_line(when, &agent).as_deref(), Some("2026 Nov 27 23:59:59 (web) any->app hi\n"));
        assert_eq!(archive_line(when, &event(b"1:ossec-keepalive:x")), None);
    }
}
