//! `shuffle`: Shuffle's webhook (`hook_url`) gets Wazuh's message (severity 1-3, title, text,
//! rule id, timestamp, id and the whole alert); the rules Shuffle's own containers trigger are
//! skipped, as Wazuh's script skips them.

use serde_json::{Value, json};

use super::{Common, Delivery, Integration, Outcome};
use crate::output::alert::Alert;

/// Rules never sent (Shuffle's own activity).
pub const SKIPPED_RULES: [&str; 14] = [
    "87924", "87900", "87901", "87902", "87903", "87904", "86001", "86002", "86003", "87932", "80710", "87929",
    "87928", "5710",
];

/// The Shuffle integration.
#[derive(Debug)]
pub struct Shuffle {
    common: Common,
    url: String,
}

impl Shuffle {
    /// Needs `hook_url`.
    pub fn new(common: Common) -> anyhow::Result<Self> {
        let url = common.hook_url()?.to_owned();
        Ok(Self { common, url })
    }
}

/// The message for `alert`.
pub fn payload(alert: &Alert, options: &serde_json::Map<String, Value>) -> Value {
    let severity = match alert.level() {
        0..=4 => 1,
        5..=7 => 2,
        _ => 3,
    };
    let mut message = json!({
        "severity": severity,
        "pretext": "WAZUH Alert",
        "title": alert.description(),
        "text": alert.get("full_log"),
        "rule_id": alert.get("rule.id"),
        "timestamp": alert.get("timestamp"),
        "id": alert.get("id"),
        "all_fields": alert.json,
    });
    super::merge(&mut message, options);
    message
}

impl Integration for Shuffle {
    fn deliver<'a>(&'a self, alert: &'a Alert) -> Delivery<'a> {
        if SKIPPED_RULES.contains(&alert.rule_id()) {
            let why = format!("rule {} is Shuffle's own", alert.rule_id());
            return Box::pin(std::future::ready(Outcome::Skipped(why)));
        }
        Box::pin(self.common.post(&self.url, payload(alert, &self.common.options), None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_message() {
        let alert = Alert::parse(br#"{"id":"9.9","rule":{"level":6,"id":"100","description":"x"},"full_log":"l"}"#)
            .expect("alert");
        let m = payload(&alert, &serde_json::Map::new());
        assert_eq!(
            (m["severity"].as_u64(), m["rule_id"].as_str(), m["id"].as_str()),
            (Some(2), Some("100"), Some("9.9"))
        );
        assert_eq!(m["all_fields"]["full_log"], "l");
    }
}
