//! `webhook` and `teams` (vigil's): a JSON `POST` to `hook_url` built from a `<template>` file
//! with `$(field)` placeholders. Without a template, `webhook` sends the alert itself and
//! `teams` a Microsoft Teams message card. `api_key` (or `credentials_file`), when set, is sent
//! as basic or bearer authorization.

use serde_json::Value;

use super::client::{Call, authorization};
use super::{Common, Delivery, Integration, Outcome, template};
use crate::output::alert::Alert;

/// The message card `teams` sends without a template.
pub const TEAMS_CARD: &str = r#"{
  "@type": "MessageCard",
  "@context": "https://schema.org/extensions",
  "summary": "Wazuh alert: $(rule.description)",
  "themeColor": "D93F0B",
  "title": "Wazuh alert - level $(rule.level)",
  "sections": [{
    "activityTitle": "$(rule.description)",
    "facts": [
      {"name": "Agent", "value": "($(agent.id)) $(agent.name)"},
      {"name": "Rule", "value": "$(rule.id) (level $(rule.level))"},
      {"name": "Location", "value": "$(location)"},
      {"name": "Alert id", "value": "$(id)"},
      {"name": "Time", "value": "$(timestamp)"}
    ],
    "text": "$(full_log)"
  }]
}"#;

/// A templated webhook.
#[derive(Debug)]
pub struct Webhook {
    common: Common,
    url: String,
    template: Option<String>,
    authorization: Option<String>,
}

impl Webhook {
    /// Needs `hook_url`; the template (a file under the home, or the Teams card for `teams`)
    /// must render JSON.
    pub fn new(common: Common, teams: bool) -> anyhow::Result<Self> {
        let url = common.hook_url()?.to_owned();
        let template = match &common.block.template {
            Some(path) => {
                let file = crate::home::inside(&common.home, path).map_err(|e| anyhow::anyhow!("<template>: {e}"))?;
                Some(
                    std::fs::read_to_string(&file)
                        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?,
                )
            }
            None if teams => Some(TEAMS_CARD.to_owned()),
            None => None,
        };
        if let Some(text) = &template {
            template::check(text).map_err(anyhow::Error::msg)?;
        }
        let authorization = common.credential().ok().map(authorization);
        Ok(Self { common, url, template, authorization })
    }

    /// The body for `alert`.
    pub fn body(&self, alert: &Alert) -> Result<Value, String> {
        let mut body = match &self.template {
            Some(text) => serde_json::from_str(&template::render(text, alert)).map_err(|e| e.to_string())?,
            None => alert.json.clone(),
        };
        super::merge(&mut body, &self.common.options);
        Ok(body)
    }
}

impl Integration for Webhook {
    fn deliver<'a>(&'a self, alert: &'a Alert) -> Delivery<'a> {
        Box::pin(async move {
            let body = match self.body(alert) {
                Ok(b) => b,
                Err(e) => return Outcome::Failed(format!("the template did not render JSON: {e}")),
            };
            let mut call = Call::post_json(&self.url, &body);
            if let Some(auth) = &self.authorization {
                call = call.header("authorization", auth.clone());
            }
            super::client::outcome(self.common.http.send(&call).await)
        })
    }
}
