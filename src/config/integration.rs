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
}

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
                _ => r.invalid_element(el),
            }
        }
        if i.name.is_empty() {
            r.error(section, "Invalid integratord configuration: <name> is missing.");
            return None;
        }
        Some(i)
    }
}
