//! The messages, in maild's words: the subject `Wazuh notification - <host> - Alert level <n>`,
//! the full notification's body, and the short (SMS) form.

use std::fmt::Write as _;

use serde_json::Value;

use crate::output::alert::Alert;

/// The longest subject (maild's buffer).
const MAX_SUBJECT: usize = 126;

/// Where the alert came from, as maild shows it: `(agent) ip->location`, or `agent->location`.
pub fn host(alert: &Alert) -> String {
    let name = alert.str("agent.name").unwrap_or("");
    let location = alert.str("location").unwrap_or("");
    match alert.str("agent.ip") {
        Some(ip) => format!("({name}) {ip}->{location}"),
        None => format!("{name}->{location}"),
    }
}

fn cut(text: String, max: usize) -> String {
    if text.chars().count() <= max { text } else { text.chars().take(max).collect() }
}

/// The full notification's subject.
pub fn subject(alert: &Alert) -> String {
    cut(format!("Wazuh notification - {} - Alert level {}", host(alert), alert.level()), MAX_SUBJECT)
}

/// The SMS subject: `Wazuh <level> - <rule> - <description>`.
pub fn sms_subject(alert: &Alert) -> String {
    cut(format!("Wazuh {} - {} - {}", alert.level(), alert.rule_id(), alert.description()), MAX_SUBJECT)
}

/// What "Portion of the log(s)" shows: the log, a FIM event's details, or the alert's fields.
pub fn logs(alert: &Alert) -> String {
    if let Some(log) = alert.str("full_log") {
        return log.to_owned();
    }
    let mut out = String::new();
    if let Some(fim) = alert.get("syscheck").and_then(Value::as_object) {
        for (label, key) in [
            ("File", "path"),
            ("Event", "event"),
            ("Mode", "mode"),
            ("Size before", "size_before"),
            ("Size after", "size_after"),
            ("Old md5sum was", "md5_before"),
            ("New md5sum is", "md5_after"),
            ("Old sha1sum was", "sha1_before"),
            ("New sha1sum is", "sha1_after"),
            ("Old sha256sum was", "sha256_before"),
            ("New sha256sum is", "sha256_after"),
        ] {
            if let Some(v) = fim.get(key) {
                let _ = write!(out, "{label}: {}\r\n", text(v));
            }
        }
        return out;
    }
    table(&alert.json, 2, &mut out);
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

/// maild's `PrintTable`: each field on its line, objects indented one more tab.
fn table(value: &Value, tabs: usize, out: &mut String) {
    let Some(object) = value.as_object() else { return };
    for (key, v) in object {
        let mut label = key.clone();
        if let Some(first) = label.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        let indent = "\t".repeat(tabs);
        match v {
            Value::Object(_) => {
                let _ = write!(out, "{indent}{label}\r\n");
                table(v, tabs + 1, out);
            }
            v => {
                let _ = write!(out, "{indent}{label}: {}\r\n", text(v));
            }
        }
    }
}

/// One alert's full notification.
pub fn body(alert: &Alert) -> String {
    format!(
        "\r\nWazuh Notification.\r\n{}\r\n\r\nReceived From: {}\r\nRule: {} fired (level {}) -> \"{}\"\r\nPortion of the log(s):\r\n\r\n{}\r\n\r\n\r\n --END OF NOTIFICATION\r\n\r\n\r\n",
        alert.str("timestamp").unwrap_or(""),
        host(alert),
        alert.rule_id(),
        alert.level(),
        alert.description(),
        logs(alert),
    )
}

/// One alert's short message: the first 127 characters of its log.
pub fn sms_body(alert: &Alert) -> String {
    logs(alert).chars().take(127).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maild_wording() {
        let alert = Alert::parse(
            br#"{"timestamp":"2026-11-28T10:00:00.000+0000","rule":{"level":12,"id":"5712","description":"sshd: brute force"},"agent":{"id":"001","name":"web","ip":"10.0.0.5"},"location":"/var/log/auth.log","full_log":"Failed password"}"#,
        )
        .expect("alert");
        assert_eq!(subject(&alert), "Wazuh notification - (web) 10.0.0.5->/var/log/auth.log - Alert level 12");
        assert_eq!(sms_subject(&alert), "Wazuh 12 - 5712 - sshd: brute force");
        let b = body(&alert);
        assert!(b.starts_with("\r\nWazuh Notification.\r\n2026-11-28T10:00:00.000+0000\r\n\r\nReceived From: (web) 10.0.0.5->/var/log/auth.log\r\n"), "{b}");
        assert!(b.contains(
            "Rule: 5712 fired (level 12) -> \"sshd: brute force\"\r\nPortion of the log(s):\r\n\r\nFailed password\r\n"
        ));
        assert!(b.ends_with(" --END OF NOTIFICATION\r\n\r\n\r\n"));
        let manager = Alert::parse(br#"{"rule":{"level":3},"agent":{"name":"vm"},"location":"syscheck","syscheck":{"path":"/etc/x","md5_after":"ab"}}"#).expect("alert");
        assert_eq!(host(&manager), "vm->syscheck");
        assert_eq!(logs(&manager), "File: /etc/x\r\nNew md5sum is: ab\r\n");
    }
}
