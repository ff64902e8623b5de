//! `<alerts>`: which alerts are written and mailed (Wazuh's `src/config/alerts-config.c`).

use serde::Serialize;

use super::value::Reader;
use crate::xml::Element;

/// Alert thresholds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alerts {
    /// Lowest level written to the alert log (Wazuh's code default is 1; its template says 3).
    pub log_alert_level: u8,
    /// Lowest level e-mailed (code default 7; template 12).
    pub email_alert_level: u8,
}

impl Default for Alerts {
    fn default() -> Self {
        Self { log_alert_level: 1, email_alert_level: 7 }
    }
}

impl Alerts {
    /// Reads one `<alerts>` block.
    pub fn read(&mut self, r: &mut Reader<'_>, section: &Element) {
        for el in section.children() {
            match el.name.as_str() {
                "log_alert_level" => r.number(el, 0..=u8::MAX, &mut self.log_alert_level),
                "email_alert_level" => r.number(el, 0..=u8::MAX, &mut self.email_alert_level),
                "use_geoip" => r.unused(el),
                _ => r.invalid_element(el),
            }
        }
    }
}
