//! `slack`: an incoming webhook (`hook_url`) gets Wazuh's attachment: colour by level, the
//! rule's description as title, the log as text, agent, location and rule as fields, the alert
//! id as `ts`; `<options>` are merged into the attachment.

use serde_json::{Value, json};

use super::{Common, Delivery, Integration};
use crate::output::alert::Alert;

/// The Slack integration.
#[derive(Debug)]
pub struct Slack {
    common: Common,
    url: String,
}

impl Slack {
    /// Needs `hook_url`.
    pub fn new(common: Common) -> anyhow::Result<Self> {
        let url = common.hook_url()?.to_owned();
        Ok(Self { common, url })
    }
}

/// The message for `alert`.
pub fn payload(alert: &Alert, options: &serde_json::Map<String, Value>) -> Value {
    let level = alert.level();
    let color = match level {
        0..=4 => "good",
        5..=7 => "warning",
        _ => "danger",
    };
    let mut fields = Vec::new();
    if alert.get("agent").is_some() {
        let agent = format!("({}) - {}", alert.str("agent.id").unwrap_or(""), alert.str("agent.name").unwrap_or(""));
        fields.push(json!({"title": "Agent", "value": agent}));
    }
    if let Some(host) = alert.get("agentless.host") {
        fields.push(json!({"title": "Agentless Host", "value": host}));
    }
    fields.push(json!({"title": "Location", "value": alert.str("location").unwrap_or("")}));
    fields.push(json!({"title": "Rule ID", "value": format!("{} _(Level {level})_", alert.rule_id())}));
    let mut attachment = json!({
        "color": color,
        "pretext": "WAZUH Alert",
        "title": alert.description(),
        "text": alert.get("full_log"),
        "fields": fields,
        "ts": alert.get("id"),
    });
    super::merge(&mut attachment, options);
    json!({"attachments": [attachment]})
}

impl Integration for Slack {
    fn deliver<'a>(&'a self, alert: &'a Alert) -> Delivery<'a> {
        Box::pin(self.common.post(&self.url, payload(alert, &self.common.options), None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wazuh_attachment_layout() {
        let alert = Alert::parse(
            br#"{"id":"1700000000.1","rule":{"level":10,"id":"5712","description":"sshd: brute force"},"agent":{"id":"001","name":"web"},"location":"/var/log/auth.log","full_log":"Failed password"}"#,
        )
        .expect("alert");
        let mut options = serde_json::Map::new();
        options.insert("channel".into(), json!("#soc"));
        let p = payload(&alert, &options);
        let a = &p["attachments"][0];
        assert_eq!(a["color"], "danger");
        assert_eq!(a["pretext"], "WAZUH Alert");
        assert_eq!(a["title"], "sshd: brute force");
        assert_eq!(a["text"], "Failed password");
        assert_eq!(a["ts"], "1700000000.1");
        assert_eq!(a["channel"], "#soc", "options go into the attachment");
        assert_eq!(
            a["fields"],
            json!([{"title":"Agent","value":"(001) - web"},{"title":"Location","value":"/var/log/auth.log"},{"title":"Rule ID","value":"5712 _(Level 10)_"}])
        );
    }
}
