//! The `<integration>` filters, as integratord applies them (ANDed, in this order):
//! `event_location` (OS_Match on the alert's `location`), `level` (at least), `group` (one of a
//! comma list equal to one of `rule.groups`, exactly, untrimmed) and `rule_id` (one of a list).

use crate::output::alert::Alert;
use crate::ruleset::regex::osmatch::OsMatch;

/// One block's filters.
#[derive(Debug)]
pub struct Filter {
    location: Option<OsMatch>,
    level: u64,
    groups: Vec<String>,
    rule_ids: Vec<u32>,
}

impl Filter {
    /// The filters of `block`; an `event_location` that does not compile is an error.
    pub fn new(block: &crate::config::Integration) -> Result<Self, String> {
        let location = block
            .event_location
            .as_deref()
            .map(|p| OsMatch::new(p).map_err(|e| format!("invalid <event_location> '{p}': {e}")))
            .transpose()?;
        let groups = match &block.group {
            Some(g) => g.split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect(),
            None => Vec::new(),
        };
        Ok(Self { location, level: block.level.map_or(0, u64::from), groups, rule_ids: block.rule_id.clone() })
    }

    /// Whether `alert` passes.
    pub fn passes(&self, alert: &Alert) -> bool {
        if let Some(pattern) = &self.location {
            match alert.str("location") {
                Some(location) if pattern.is_match(location.as_bytes()) => {}
                _ => return false,
            }
        }
        if self.level > 0 && alert.level() < self.level {
            return false;
        }
        if !self.groups.is_empty() && !alert.groups().any(|g| self.groups.iter().any(|w| w == g)) {
            return false;
        }
        if !self.rule_ids.is_empty() {
            let id: Option<u32> = alert.rule_id().parse().ok();
            if !id.is_some_and(|id| self.rule_ids.contains(&id)) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(xml: &str) -> crate::config::Integration {
        let text = format!("<ossec_config><integration><name>slack</name>{xml}</integration></ossec_config>");
        let loaded = crate::config::parse(&text, std::path::Path::new("ossec.conf"));
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        loaded.config.integrations.into_iter().next().expect("one block")
    }

    fn alert(level: u64, id: &str, groups: &str, location: &str) -> Alert {
        let text = format!(r#"{{"rule":{{"level":{level},"id":"{id}","groups":[{groups}]}},"location":"{location}"}}"#);
        Alert::parse(text.as_bytes()).expect("alert")
    }

    #[test]
    fn filters_are_anded_as_integratord_applies_them() {
        let f = Filter::new(&block("<level>7</level><group>sshd,web</group>")).expect("filter");
        assert!(f.passes(&alert(7, "5710", r#""syslog","sshd""#, "/var/log/auth.log")));
        assert!(!f.passes(&alert(6, "5710", r#""sshd""#, "x")), "below the level");
        assert!(!f.passes(&alert(9, "5710", r#""syslog""#, "x")), "no group in the list");
        let spaced = Filter::new(&block("<group>syslog, sshd</group>")).expect("filter");
        assert!(!spaced.passes(&alert(3, "1", r#""sshd""#, "x")), "' sshd' is not 'sshd', as in Wazuh");
        let ids = Filter::new(&block("<rule_id>5710, 5712</rule_id>")).expect("filter");
        assert!(ids.passes(&alert(3, "5712", "", "x")));
        assert!(!ids.passes(&alert(3, "57120", "", "x")));
        let at = Filter::new(&block("<event_location>auth.log$|^syscheck</event_location>")).expect("filter");
        assert!(at.passes(&alert(3, "1", "", "/var/log/auth.log")));
        assert!(at.passes(&alert(3, "1", "", "syscheck")));
        assert!(!at.passes(&alert(3, "1", "", "/var/log/auth.log.1")));
        assert!(Filter::new(&block("")).expect("filter").passes(&alert(0, "1", "", "x")), "no filter: everything");
    }
}
