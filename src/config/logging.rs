//! `<logging>`: the format of vigil's own log (`logs/ossec.log`, `logs/ossec.json`).

use serde::Serialize;

use super::value::Reader;
use crate::xml::Element;

/// Which log files are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Logging {
    /// `logs/ossec.log`, Wazuh's text lines.
    pub plain: bool,
    /// `logs/ossec.json`, one JSON object a line.
    pub json: bool,
}

impl Default for Logging {
    fn default() -> Self {
        Self { plain: true, json: false }
    }
}

impl Logging {
    /// Reads `<log_format>`; Wazuh only honours the first one in the file.
    pub fn read(&mut self, r: &mut Reader<'_>, section: &Element, first: bool) {
        for el in section.children() {
            if el.name != "log_format" {
                continue;
            }
            if !first {
                r.warn(el, "Only the first <logging><log_format> is used.");
                continue;
            }
            let parts: Vec<&str> = el.text.splitn(2, ',').map(str::trim).collect();
            let (mut plain, mut json) = (false, false);
            for part in &parts {
                match *part {
                    "plain" => plain = true,
                    "json" => json = true,
                    "" if parts.len() == 1 => plain = true,
                    _ => {
                        r.invalid_value(el);
                        return;
                    }
                }
            }
            *self = Self { plain, json };
        }
    }
}
