//! The active response message an agent's execd (or vigil's own) runs (protocol.md §5.2): the
//! JSON form for agents from 4.2.0 (with `! $ ' backtick` escaped for 4.2.0-4.2.4), the legacy
//! text for older ones.

use serde_json::{Value, json};

use crate::output::alert::Alert;

/// Which form an agent understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// JSON (4.2.5 and later).
    Json,
    /// JSON with `! $ ' backtick` escaped (4.2.0 to 4.2.4).
    JsonEscaped,
    /// `<name> <user> <srcip> <id> <rule> <location> <file> <args>` (before 4.2.0).
    Legacy,
}

/// The form for an agent of `version` (`Wazuh v4.14.7`); `None` when it cannot be read, as
/// analysisd then sends nothing.
pub fn form(version: &str) -> Option<Form> {
    let number = version.rsplit('v').next()?;
    let mut parts = number.split('.').map(|p| p.trim().parse::<u32>());
    let (Some(Ok(major)), Some(Ok(minor)), Some(Ok(patch))) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    Some(match (major, minor, patch) {
        (m, n, _) if (m, n) < (4, 2) => Form::Legacy,
        (4, 2, p) if p < 5 => Form::JsonEscaped,
        _ => Form::Json,
    })
}

fn args(extra_args: Option<&str>) -> Vec<&str> {
    extra_args.map(|a| a.split(' ').filter(|s| !s.is_empty()).collect()).unwrap_or_default()
}

/// The JSON message as a value: `{"version":1,"origin":{"name":node,"module":module},
/// "command":name,"parameters":{"extra_args":[…],"alert":{…}}}`.
pub fn json(node: &str, module: &str, name: &str, extra_args: Option<&str>, alert: &Value) -> Value {
    json!({
        "version": 1,
        "origin": {"name": node, "module": module},
        "command": name,
        "parameters": {"extra_args": args(extra_args), "alert": alert},
    })
}

/// The JSON message as analysisd writes it: its keys in that order, and the alert exactly as
/// its alerts.json line (`alert` is that line).
pub fn json_text(node: &str, module: &str, name: &str, extra_args: Option<&str>, alert: &[u8]) -> String {
    let text = |s: &str| Value::from(s).to_string();
    let args = Value::from(args(extra_args)).to_string();
    format!(
        r#"{{"version":1,"origin":{{"name":{},"module":{}}},"command":{},"parameters":{{"extra_args":{args},"alert":{}}}}}"#,
        text(node),
        text(module),
        text(name),
        String::from_utf8_lossy(alert)
    )
}

/// The JSON text with `! $ ' backtick` written as `\x21 \x24 \x27 \x60` (for 4.2.0-4.2.4).
pub fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '!' => out.push_str("\\\\x21"),
            '$' => out.push_str("\\\\x24"),
            '\'' => out.push_str("\\\\x27"),
            '`' => out.push_str("\\\\x60"),
            c => out.push(c),
        }
    }
    out
}

/// The legacy text.
pub fn legacy(name: &str, alert: &Alert, extra_args: Option<&str>) -> String {
    let srcip = alert.str("data.srcip").map(|ip| ip.strip_prefix("::ffff:").unwrap_or(ip));
    let file = alert.str("syscheck.path");
    format!(
        "{name} {} {} {} {} {} {} {}",
        alert.str("data.dstuser").unwrap_or("-"),
        srcip.unwrap_or("-"),
        alert.str("id").unwrap_or("0.0"),
        alert.rule_id(),
        alert.str("location").unwrap_or(""),
        file.map_or_else(|| "-".to_owned(), shell_escape),
        extra_args.map_or_else(|| "-".to_owned(), shell_escape),
    )
}

/// Backslashes before shell characters (Wazuh's `os_shell_escape`).
fn shell_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if " \"'\\`$!;&|<>()*?[]{}~#\t\n".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The text sent for `form`.
pub fn for_agent(form: Form, node: &str, name: &str, extra_args: Option<&str>, alert: &Alert) -> String {
    match form {
        Form::Legacy => legacy(name, alert, extra_args),
        Form::Json => json_text(node, "wazuh-analysisd", name, extra_args, &alert.line),
        Form::JsonEscaped => escaped(&json_text(node, "wazuh-analysisd", name, extra_args, &alert.line)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_by_version() {
        assert_eq!(form("Wazuh v4.14.7"), Some(Form::Json));
        assert_eq!(form("Wazuh v4.2.5"), Some(Form::Json));
        assert_eq!(form("Wazuh v4.2.0"), Some(Form::JsonEscaped));
        assert_eq!(form("Wazuh v4.1.5"), Some(Form::Legacy));
        assert_eq!(form("Wazuh v3.13.2"), Some(Form::Legacy));
        assert_eq!(form("garbage"), None);
        assert_eq!(form("Wazuh v4.2"), None);
    }

    #[test]
    fn messages() {
        let alert = Alert::parse(
            br#"{"id":"1700000000.42","rule":{"id":"5712","level":10},"location":"/var/log/auth.log","data":{"srcip":"::ffff:1.2.3.4","dstuser":"bob"},"full_log":"it's $5!"}"#,
        )
        .expect("alert");
        let m = json("node01", "wazuh-analysisd", "firewall-drop600", Some("-a  b"), &alert.json);
        assert_eq!(m["command"], "firewall-drop600");
        assert_eq!(m["parameters"]["extra_args"], json!(["-a", "b"]));
        assert_eq!(m["parameters"]["alert"]["rule"]["id"], "5712");
        let text = for_agent(Form::Json, "node01", "firewall-drop600", Some("-a  b"), &alert);
        assert_eq!(serde_json::from_str::<Value>(&text).ok(), Some(m), "the text is the same message");
        assert!(
            text.ends_with(&format!("{}}}}}", String::from_utf8_lossy(&alert.line))),
            "the alert as its line: {text}"
        );
        assert!(
            text.starts_with(r#"{"version":1,"origin":{"name":"node01","module":"wazuh-analysisd"},"command""#),
            "{text}"
        );
        let old = for_agent(Form::JsonEscaped, "n", "x0", None, &alert);
        assert!(old.contains(r"it\\x27s \\x245\\x21") && !old.contains('$'), "{old}");
        assert_eq!(
            legacy("firewall-drop600", &alert, None),
            "firewall-drop600 bob 1.2.3.4 1700000000.42 5712 /var/log/auth.log - -"
        );
    }
}
