//! `<rule_test>`: the logtest service (Wazuh's `src/config/logtest-config.c`).

use std::time::Duration;

use serde::Serialize;

use super::value::{Reader, seconds};
use crate::xml::Element;

/// Logtest settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleTest {
    /// Serve logtest requests.
    pub enabled: bool,
    /// Worker threads (`auto` = one per CPU), at most 128.
    pub threads: u16,
    /// Concurrent sessions, at most 500.
    pub max_sessions: u16,
    /// Idle sessions close after this, at most a year.
    #[serde(serialize_with = "seconds")]
    pub session_timeout: Duration,
}

impl Default for RuleTest {
    fn default() -> Self {
        Self { enabled: true, threads: 1, max_sessions: 64, session_timeout: Duration::from_secs(900) }
    }
}

const MAX_TIMEOUT: Duration = Duration::from_secs(31_536_000);

impl RuleTest {
    /// Reads one `<rule_test>` block.
    pub fn read(&mut self, r: &mut Reader<'_>, section: &Element) {
        for el in section.children() {
            match el.name.as_str() {
                "enabled" => r.yes_no(el, &mut self.enabled),
                "threads" if el.text == "auto" => {
                    self.threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(128) as u16);
                }
                "threads" => {
                    r.number(el, 0..=65_534, &mut self.threads);
                    if self.threads > 128 {
                        r.warn(el, "Maximum value for 'threads' is 128; using 128.");
                        self.threads = 128;
                    }
                }
                "max_sessions" => {
                    r.number(el, 0..=65_534, &mut self.max_sessions);
                    if self.max_sessions > 500 {
                        r.warn(el, "Maximum value for 'max_sessions' is 500; using 500.");
                        self.max_sessions = 500;
                    }
                }
                "session_timeout" => {
                    r.time(el, Duration::from_secs(1), &mut self.session_timeout);
                    if self.session_timeout > MAX_TIMEOUT {
                        r.warn(el, "Maximum value for 'session_timeout' is 31536000 s; using it.");
                        self.session_timeout = MAX_TIMEOUT;
                    }
                }
                _ => r.invalid_element(el),
            }
        }
    }
}
