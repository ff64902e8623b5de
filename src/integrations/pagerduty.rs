//! `pagerduty`: Events API v2 (`/v2/enqueue`, or `hook_url`), routing key from `api_key`. The
//! payload is Wazuh's, with the severity it meant to send (>= 12 critical, >= 7 error, >= 4
//! warning, else info; Wazuh's script only ever sends info or warning).

use serde_json::{Value, json};

use super::{Common, Delivery, Integration};
use crate::output::alert::Alert;

/// PagerDuty's Events API.
pub const EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// PagerDuty's longest summary.
const MAX_SUMMARY: usize = 1024;

/// The PagerDuty integration.
#[derive(Debug)]
pub struct PagerDuty {
    common: Common,
    url: String,
    routing_key: String,
}

impl PagerDuty {
    /// Needs `api_key` (the integration's routing key).
    pub fn new(common: Common) -> anyhow::Result<Self> {
        let routing_key = common.credential()?.to_owned();
        let url = common.hook_url_or(EVENTS_URL)?;
        Ok(Self { common, url, routing_key })
    }
}

/// The severity for `level`.
pub fn severity(level: u64) -> &'static str {
    match level {
        12.. => "critical",
        7.. => "error",
        4.. => "warning",
        _ => "info",
    }
}

/// The event for `alert`.
pub fn payload(alert: &Alert, routing_key: &str, options: &serde_json::Map<String, Value>) -> Value {
    let groups: Vec<&str> = alert.groups().collect();
    let source = alert
        .str("agent.name")
        .or_else(|| alert.str("agentless.host"))
        .or_else(|| alert.str("manager.name"))
        .unwrap_or("wazuh");
    let summary: String = alert.description().chars().take(MAX_SUMMARY).collect();
    let mut event = json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "payload": {
            "summary": summary,
            "timestamp": alert.get("timestamp"),
            "source": source,
            "severity": severity(alert.level()),
            "group": groups.join(", "),
            "custom_details": alert.json,
        },
        "client": "Wazuh Monitoring Service",
        "client_url": "https://wazuh.com",
    });
    super::merge(&mut event, options);
    event
}

impl Integration for PagerDuty {
    fn deliver<'a>(&'a self, alert: &'a Alert) -> Delivery<'a> {
        Box::pin(async move {
            let event = payload(alert, &self.routing_key, &self.common.options);
            self.common.post_expecting_json(&self.url, event, None).await.map_or_else(|o| o, |_| super::Outcome::Done)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_api_v2_with_real_severities() {
        assert_eq!(
            [0, 3, 4, 6, 7, 11, 12, 15].map(severity),
            ["info", "info", "warning", "warning", "error", "error", "critical", "critical"]
        );
        let alert = Alert::parse(
            br#"{"timestamp":"2026-11-28T10:00:00.000+0000","rule":{"level":12,"description":"d","groups":["a","b"]},"agent":{"id":"001","name":"web"}}"#,
        )
        .expect("alert");
        let e = payload(&alert, "KEY", &serde_json::Map::new());
        assert_eq!(e["routing_key"], "KEY");
        assert_eq!(e["event_action"], "trigger");
        assert_eq!(e["payload"]["severity"], "critical");
        assert_eq!(e["payload"]["source"], "web");
        assert_eq!(e["payload"]["group"], "a, b");
        assert_eq!(e["payload"]["custom_details"]["rule"]["level"], 12);
        assert_eq!(e["payload"]["timestamp"], "2026-11-28T10:00:00.000+0000");
    }
}
