//! `<integration>`: one external service fed with alerts (Wazuh's `integrator-config.c`).

use serde::Serialize;

use super::value::{Reader, Secret};
use crate::xml::Element;

/// One integration block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Integration {
    /// `slack`, `pagerduty`, `virustotal`, `shuffle`, `maltiverse` or `custom-*`.
    pub name: String,
    /// Service URL.
    pub hook_url: Option<String>,
    /// Service credential.
    pub api_key: Option<Secret>,
    /// Only alerts at or above this level.
    pub level: Option<u8>,
    /// Only these rule ids.
    pub rule_id: Vec<u32>,
    /// Only alerts in one of these groups.
    pub group: Option<String>,
    /// Only alerts whose location matches this OS_Match pattern.
    pub event_location: Option<String>,
    /// Payload format (`json`).
    pub alert_format: Option<String>,
    /// Longest log excerpt sent (165..=1024).
    pub max_log: u32,
    /// Extra JSON options for the service.
    pub options: Option<String>,
    /// Seconds per request.
    pub timeout: u32,
    /// Attempts after the first failure.
    pub retries: u32,
    /// vigil: the Jira project key (`jira`).
    pub project: Option<String>,
    /// vigil: the Jira issue type (`jira`; `Task` when absent).
    pub issue_type: Option<String>,
    /// vigil: the ServiceNow table (`servicenow`; `incident` when absent).
    pub table: Option<String>,
    /// vigil: a file holding the JSON payload template with `$(field)` placeholders
    /// (`teams`, `webhook`).
    pub template: Option<String>,
    /// vigil: a file holding the credential (`user:password` or a token) instead of `api_key`.
    pub credentials_file: Option<String>,
    /// vigil: how long a ServiceNow incident takes later alerts of the same rule, agent and
    /// source as updates.
    #[serde(serialize_with = "super::value::seconds")]
    pub window: std::time::Duration,
    /// vigil: the CA bundle https endpoints are checked against (the system's by default).
    pub ca_file: Option<String>,
}

/// Wazuh's own integrations, and vigil's native ones (any `custom-*` name is a script).
pub const NAMES: [&str; 9] =
    ["slack", "pagerduty", "virustotal", "shuffle", "maltiverse", "jira", "servicenow", "teams", "webhook"];

impl Integration {
    /// Reads one `<integration>` block; `None` when it has no name.
    pub fn read(r: &mut Reader<'_>, section: &Element) -> Option<Self> {
        let mut i = Self {
            name: String::new(),
            hook_url: None,
            api_key: None,
            level: None,
            rule_id: Vec::new(),
            group: None,
            event_location: None,
            alert_format: None,
            max_log: 165,
            options: None,
            timeout: 10,
            retries: 3,
            project: None,
            issue_type: None,
            table: None,
            template: None,
            credentials_file: None,
            window: std::time::Duration::from_secs(3600),
            ca_file: None,
        };
        for el in section.children() {
            match el.name.as_str() {
                "name" => el.text.clone_into(&mut i.name),
                "hook_url" => r.text(el, &mut i.hook_url),
                "api_key" => r.secret(el, &mut i.api_key),
                "level" => {
                    let mut level = 0u8;
                    r.number(el, 0..=u8::MAX, &mut level);
                    i.level = Some(level);
                }
                // Wazuh stops silently at the first character that is not a digit, comma or space.
                "rule_id" => {
                    i.rule_id = el
                        .text
                        .split([',', ' '])
                        .take_while(|t| t.bytes().all(|b| b.is_ascii_digit()))
                        .filter_map(|t| t.parse().ok())
                        .collect()
                }
                "group" => r.text(el, &mut i.group),
                "event_location" => r.text(el, &mut i.event_location),
                "alert_format" => r.text(el, &mut i.alert_format),
                "max_log" => r.number(el, 165..=1024, &mut i.max_log),
                "options" => r.text(el, &mut i.options),
                "timeout" => r.number(el, 0..=u32::MAX, &mut i.timeout),
                "retries" => r.number(el, 0..=u32::MAX, &mut i.retries),
                "project" => r.text(el, &mut i.project),
                "issue_type" => r.text(el, &mut i.issue_type),
                "table" => r.text(el, &mut i.table),
                "template" => r.text(el, &mut i.template),
                "credentials_file" => r.text(el, &mut i.credentials_file),
                "window" => r.time(el, std::time::Duration::ZERO, &mut i.window),
                "ca_file" => r.text(el, &mut i.ca_file),
                _ => r.invalid_element(el),
            }
        }
        if i.name.is_empty() {
            r.error(section, "Invalid integratord configuration: <name> is missing.");
            return None;
        }
        if !i.name.starts_with("custom-") && !NAMES.contains(&i.name.as_str()) {
            r.error(section, format!("Invalid integration: '{}'. Not currently supported.", i.name));
            return None;
        }
        Some(i)
    }
}
