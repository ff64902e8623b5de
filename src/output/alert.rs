//! One alert as the log's readers (integrations, email, active response) see it: its line from `alerts.json` and the parsed object, with
//! dotted-path access (`rule.level`, `syscheck.md5_after`).

use serde_json::Value;

/// An alert read from the log.
#[derive(Debug, Clone)]
pub struct Alert {
    /// The parsed object.
    pub json: Value,
    /// The line as written (what `alert_format json` scripts get).
    pub line: Vec<u8>,
}

impl Alert {
    /// Parses a log line; `None` unless it is a JSON object with a `rule` block (integratord
    /// skips anything else).
    pub fn parse(line: &[u8]) -> Option<Self> {
        let json: Value = serde_json::from_slice(line).ok()?;
        json.get("rule")?.as_object()?;
        Some(Self { json, line: line.to_vec() })
    }

    /// The value at a dotted path.
    pub fn get(&self, path: &str) -> Option<&Value> {
        lookup(&self.json, path)
    }

    /// The string at a dotted path.
    pub fn str(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(Value::as_str)
    }

    /// The value at `path` as text: strings as they are, numbers and booleans printed, `None`
    /// for objects, arrays, nulls and missing fields.
    pub fn text(&self, path: &str) -> Option<String> {
        match self.get(path)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// `rule.level` (0 when absent).
    pub fn level(&self) -> u64 {
        self.get("rule.level").and_then(Value::as_u64).unwrap_or(0)
    }

    /// `rule.id` ("" when absent).
    pub fn rule_id(&self) -> &str {
        self.str("rule.id").unwrap_or("")
    }

    /// `rule.description` ("N/A" when absent, as Wazuh's scripts say).
    pub fn description(&self) -> &str {
        self.str("rule.description").unwrap_or("N/A")
    }

    /// `rule.groups`.
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.get("rule.groups").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
    }

    /// The agent's id, `000` for the manager's own events.
    pub fn agent_id(&self) -> &str {
        self.str("agent.id").unwrap_or("000")
    }
}

/// The value at a dotted path in `value`.
pub fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_need_a_rule_and_fields_are_reached_by_path() {
        assert!(Alert::parse(br#"{"timestamp":"x"}"#).is_none());
        assert!(Alert::parse(b"not json").is_none());
        assert!(Alert::parse(br#"{"rule":"flat"}"#).is_none());
        let a = Alert::parse(br#"{"rule":{"level":7,"id":"5710","groups":["sshd","authentication_failed"]},"data":{"srcport":"22","n":3}}"#)
            .expect("alert");
        assert_eq!((a.level(), a.rule_id(), a.description()), (7, "5710", "N/A"));
        assert_eq!(a.groups().collect::<Vec<_>>(), ["sshd", "authentication_failed"]);
        assert_eq!(a.text("data.n").as_deref(), Some("3"));
        assert_eq!(a.text("data.srcport").as_deref(), Some("22"));
        assert_eq!(a.text("data.missing"), None);
        assert_eq!(a.agent_id(), "000");
    }
}
