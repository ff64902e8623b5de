//! `<email_alerts>`: recipients of the alerts a block's criteria match (Wazuh's
//! `email-alerts-config.c`). Every criterion set must match; a block with none never does.

use serde::Serialize;

use super::value::Reader;
use crate::xml::Element;

/// How an alert is written for a recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MailFormat {
    /// The full notification.
    Full,
    /// A short message (subject and 127 characters of log).
    Sms,
}

/// One `<email_alerts>` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmailAlerts {
    /// Who gets the alerts it matches.
    pub email_to: Vec<String>,
    /// At least this level.
    pub level: Option<u8>,
    /// One of these groups (an OS_Match pattern).
    pub group: Option<String>,
    /// Location (an OS_Match pattern).
    pub event_location: Option<String>,
    /// One of these rules.
    pub rule_id: Vec<u32>,
    /// Full or SMS.
    pub format: MailFormat,
    /// Sent at once, not grouped with the alerts that follow.
    pub do_not_delay: bool,
    /// Sent in a message of its own.
    pub do_not_group: bool,
}

impl EmailAlerts {
    /// Reads one block; `None` when it names no recipient.
    pub fn read(r: &mut Reader<'_>, section: &Element) -> Option<Self> {
        let mut b = Self {
            email_to: Vec::new(),
            level: None,
            group: None,
            event_location: None,
            rule_id: Vec::new(),
            format: MailFormat::Full,
            do_not_delay: false,
            do_not_group: false,
        };
        for el in section.children() {
            match el.name.as_str() {
                "email_to" => b.email_to.push(el.text.clone()),
                "level" => {
                    let mut level = 0u8;
                    r.number(el, 0..=u8::MAX, &mut level);
                    b.level = (level > 0).then_some(level);
                }
                "group" => r.text(el, &mut b.group),
                "event_location" => r.text(el, &mut b.event_location),
                "rule_id" => b.rule_id = el.text.split([',', ' ']).filter_map(|t| t.trim().parse().ok()).collect(),
                "format" => match el.text.as_str() {
                    "sms" => b.format = MailFormat::Sms,
                    "full" | "default" => b.format = MailFormat::Full,
                    _ => r.invalid_value(el),
                },
                "do_not_delay" => b.do_not_delay = true,
                "do_not_group" => b.do_not_group = true,
                _ => r.invalid_element(el),
            }
        }
        if b.email_to.is_empty() {
            r.error(section, "(1264): Invalid 'email_alerts' config (missing parameters).");
            return None;
        }
        Some(b)
    }
}
