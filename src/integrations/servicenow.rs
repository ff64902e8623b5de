//! `servicenow` (vigil's): an incident per alert through the Table API (`POST
//! /api/now/table/<table>`, `incident` by default), urgency and impact from the level. Later
//! alerts of the same rule, agent and source within `<window>` (an hour by default) add a work
//! note to the open incident (`PATCH …/<sys_id>`) instead of opening another. One alert at a
//! time, so two alerts of a burst cannot both open one.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::client::{Call, authorization};
use super::{Common, Delivery, Integration, Outcome};
use crate::output::alert::Alert;

/// The ServiceNow integration.
#[derive(Debug)]
pub struct ServiceNow {
    common: Common,
    url: String,
    authorization: String,
    window: Duration,
    open: RefCell<HashMap<String, (String, Instant)>>,
}

impl ServiceNow {
    /// Needs `hook_url` (the instance) and a credential (`user:password`).
    pub fn new(common: Common) -> anyhow::Result<Self> {
        let base = common.hook_url()?.trim_end_matches('/');
        let table = common.block.table.as_deref().unwrap_or("incident");
        if !table.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            anyhow::bail!("<table> '{table}' is not a table name");
        }
        let url = format!("{base}/api/now/table/{table}");
        let authorization = authorization(common.credential()?);
        let window = common.block.window;
        Ok(Self { common, url, authorization, window, open: RefCell::new(HashMap::new()) })
    }
}

/// What makes alerts one incident: rule, agent and source (the source address, else the
/// location).
pub fn key(alert: &Alert) -> String {
    let source = alert.str("data.srcip").or_else(|| alert.str("location")).unwrap_or("");
    format!("{}|{}|{source}", alert.rule_id(), alert.agent_id())
}

/// 1 (high) to 3 (low) from the level.
fn urgency(level: u64) -> &'static str {
    match level {
        12.. => "1",
        7.. => "2",
        _ => "3",
    }
}

/// The text of an alert, for the incident's description or a work note.
fn details(alert: &Alert) -> String {
    format!(
        "Wazuh alert {} at {}\nRule {} (level {}): {}\nAgent: ({}) {}\nLocation: {}\n\n{}",
        alert.str("id").unwrap_or(""),
        alert.str("timestamp").unwrap_or(""),
        alert.rule_id(),
        alert.level(),
        alert.description(),
        alert.agent_id(),
        alert.str("agent.name").unwrap_or("manager"),
        alert.str("location").unwrap_or(""),
        alert.str("full_log").unwrap_or(""),
    )
}

/// The new incident for `alert`.
pub fn incident(alert: &Alert) -> Value {
    let level = alert.level();
    let short = super::jira::one_line(
        &format!("Wazuh: {} ({})", alert.description(), alert.str("agent.name").unwrap_or("manager")),
        160,
    );
    json!({
        "short_description": short,
        "description": details(alert),
        "urgency": urgency(level),
        "impact": urgency(level),
        "category": "security",
        "correlation_id": key(alert),
        "correlation_display": "vigil",
    })
}

impl ServiceNow {
    async fn update(&self, sys_id: &str, alert: &Alert) -> Outcome {
        let note = json!({"work_notes": format!("Repeated:\n{}", details(alert))});
        let mut call = Call::post_json(&format!("{}/{sys_id}", self.url), &note)
            .header("authorization", self.authorization.clone())
            .header("accept", "application/json".into());
        call.method = hyper::Method::PATCH;
        super::client::outcome(self.common.http.send(&call).await)
    }

    async fn create(&self, alert: &Alert, key: String) -> Outcome {
        let answer =
            self.common.post_expecting_json(&self.url, incident(alert), Some(self.authorization.clone())).await;
        match answer {
            Ok(created) => match created.pointer("/result/sys_id").and_then(Value::as_str) {
                Some(sys_id) => {
                    let mut open = self.open.borrow_mut();
                    // Keys come from logs: incidents past their window are forgotten.
                    open.retain(|_, (_, at)| at.elapsed() < self.window);
                    open.insert(key, (sys_id.to_owned(), Instant::now()));
                    Outcome::Done
                }
                None => Outcome::bad_answer("ServiceNow answered without result.sys_id".into()),
            },
            Err(outcome) => outcome,
        }
    }
}

impl Integration for ServiceNow {
    fn in_flight(&self) -> usize {
        1
    }

    fn deliver<'a>(&'a self, alert: &'a Alert) -> Delivery<'a> {
        Box::pin(async move {
            let key = key(alert);
            let open = self.open.borrow().get(&key).filter(|(_, at)| at.elapsed() < self.window).cloned();
            match open {
                Some((sys_id, _)) => match self.update(&sys_id, alert).await {
                    // The incident is gone (closed and archived, deleted): open a new one.
                    Outcome::Failed(_) => self.create(alert, key).await,
                    other => other,
                },
                None => self.create(alert, key).await,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incidents_are_keyed_by_rule_agent_and_source() {
        let a = Alert::parse(
            br#"{"rule":{"id":"5712","level":10},"agent":{"id":"003"},"data":{"srcip":"1.2.3.4"},"location":"x"}"#,
        )
        .expect("alert");
        assert_eq!(key(&a), "5712|003|1.2.3.4");
        let b = Alert::parse(br#"{"rule":{"id":"5712","level":3},"location":"/var/log/secure"}"#).expect("alert");
        assert_eq!(key(&b), "5712|000|/var/log/secure");
        let i = incident(&a);
        assert_eq!((i["urgency"].as_str(), i["correlation_id"].as_str()), (Some("2"), Some("5712|003|1.2.3.4")));
    }
}
