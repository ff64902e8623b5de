//! `jira` (vigil's): an issue per alert through Jira's REST API (`POST …/rest/api/2/issue`), in
//! `<project>` with `<issue_type>` (Task by default); basic authentication from `user:token`, or a
//! bearer token (Jira Data Center's personal access tokens). The log goes into a `{noformat}`
//! block, so an alert cannot inject Jira markup.

use serde_json::{Value, json};

use super::client::authorization;
use super::{Common, Delivery, Integration, Outcome};
use crate::output::alert::Alert;

/// Jira's longest summary.
const MAX_SUMMARY: usize = 250;

/// The Jira integration.
#[derive(Debug)]
pub struct Jira {
    common: Common,
    url: String,
    project: String,
    issue_type: String,
    authorization: String,
}

impl Jira {
    /// Needs `hook_url` (the site, or its issue endpoint), `<project>` and a credential.
    pub fn new(common: Common) -> anyhow::Result<Self> {
        let base = common.hook_url()?.trim_end_matches('/');
        let url =
            if base.ends_with("/rest/api/2/issue") { base.to_owned() } else { format!("{base}/rest/api/2/issue") };
        let project = common.block.project.clone().ok_or_else(|| anyhow::anyhow!("<project> is missing"))?;
        let issue_type = common.block.issue_type.clone().unwrap_or_else(|| "Task".to_owned());
        let authorization = authorization(common.credential()?);
        Ok(Self { common, url, project, issue_type, authorization })
    }
}

/// One line, at most `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(max).collect()
}

/// The issue for `alert`.
pub fn payload(alert: &Alert, project: &str, issue_type: &str) -> Value {
    let agent = alert.str("agent.name").unwrap_or("manager");
    let summary = one_line(&format!("Wazuh alert: {} ({agent})", alert.description()), MAX_SUMMARY);
    let log = alert.str("full_log").unwrap_or("").replace("{noformat}", "{ noformat}");
    let description = format!(
        "Rule {} (level {}): {}\nAgent: ({}) {}\nLocation: {}\nAlert id: {}\nTime: {}\n{{noformat}}\n{log}\n{{noformat}}",
        alert.rule_id(),
        alert.level(),
        alert.description(),
        alert.agent_id(),
        agent,
        alert.str("location").unwrap_or(""),
        alert.str("id").unwrap_or(""),
        alert.str("timestamp").unwrap_or(""),
    );
    json!({"fields": {
        "project": {"key": project},
        "issuetype": {"name": issue_type},
        "summary": summary,
        "description": description,
        "labels": ["wazuh", format!("rule-{}", alert.rule_id())],
    }})
}

impl Integration for Jira {
    fn deliver<'a>(&'a self, alert: &'a Alert) -> Delivery<'a> {
        Box::pin(async move {
            let issue = payload(alert, &self.project, &self.issue_type);
            match self.common.post_expecting_json(&self.url, issue, Some(self.authorization.clone())).await {
                Ok(created) if created.get("key").is_some() => Outcome::Done,
                Ok(other) => Outcome::bad_answer(format!(
                    "Jira answered without an issue key: {}",
                    super::client::excerpt(other.to_string().as_bytes())
                )),
                Err(outcome) => outcome,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_fields_and_no_markup_escape() {
        let alert = Alert::parse(
            br#"{"id":"1.2","rule":{"level":12,"id":"5712","description":"brute\nforce"},"agent":{"id":"001","name":"web"},"full_log":"x{noformat}*bold*"}"#,
        )
        .expect("alert");
        let p = payload(&alert, "SEC", "Bug");
        assert_eq!(p["fields"]["project"]["key"], "SEC");
        assert_eq!(p["fields"]["issuetype"]["name"], "Bug");
        assert_eq!(p["fields"]["summary"], "Wazuh alert: brute force (web)");
        let d = p["fields"]["description"].as_str().expect("text");
        assert_eq!(d.matches("{noformat}").count(), 2, "the log cannot close the block: {d}");
        assert_eq!(p["fields"]["labels"][1], "rule-5712");
    }
}
