//! Which `<active-response>` blocks an alert fires, as analysisd binds them to rules: for a
//! rule of level > 0, `level` and `rules_group` together are ANDed, either alone suffices, and
//! `rules_id` is ORed on top; `rules_group` is an OS_Regex over the rule's groups. An alert whose
//! `srcip` or `dstuser` looks like a logging attack, or whose source is in `<white_list>`,
//! fires nothing.

use crate::config::{ActiveResponse, Command, Config};
use crate::output::alert::Alert;
use crate::ruleset::regex::OsRegex;
use crate::store::AgentIp;

/// One block, ready to match.
#[derive(Debug)]
pub struct Trigger {
    /// The block.
    pub block: ActiveResponse,
    /// Its command.
    pub command: Command,
    group: Option<OsRegex>,
    rule_ids: Vec<u64>,
}

impl Trigger {
    /// `<name><timeout>`: the name agents' ar.conf knows the command by.
    pub fn ar_name(&self) -> String {
        format!("{}{}", self.command.name, self.block.timeout)
    }

    /// Whether an alert of rule `id`, `level` and `groups` fires it.
    pub fn fires(&self, id: u64, level: u64, groups: &str) -> bool {
        if level == 0 {
            return false;
        }
        let wanted = u64::from(self.block.level);
        let by_group = self.group.as_ref().map(|g| g.is_match(groups.as_bytes()));
        let by_level_or_group = match by_group {
            Some(group) if wanted > 0 => level >= wanted && group,
            Some(group) => group,
            None => wanted > 0 && level >= wanted,
        };
        by_level_or_group || self.rule_ids.contains(&id)
    }
}

/// Every enabled block, and the white list.
#[derive(Debug, Default)]
pub struct Triggers {
    /// The blocks in config order.
    pub list: Vec<Trigger>,
    white_list: Vec<AgentIp>,
}

/// Why an alert fires nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// analysisd's 1271.
    #[error("(1271): Invalid IP Address '{0}'. Possible logging attack.")]
    BadAddress(String),
    /// analysisd's 1272.
    #[error("(1272): Invalid username '{0}'. Possible logging attack.")]
    BadUser(String),
    /// The source is white-listed.
    #[error("source {0} is in <white_list>")]
    WhiteListed(String),
}

/// The rule's groups as analysisd's group string has them (the compliance groups moved out to
/// `rule.<framework>` put back with their prefixes).
pub fn group_string(alert: &Alert) -> String {
    let mut text = String::new();
    for g in alert.groups() {
        text.push_str(g);
        text.push(',');
    }
    for framework in ["pci_dss", "gdpr", "hipaa", "nist_800_53", "tsc", "gpg13", "cis"] {
        let path = format!("rule.{framework}");
        for v in alert.get(&path).and_then(serde_json::Value::as_array).into_iter().flatten() {
            if let Some(v) = v.as_str() {
                text.push_str(&format!("{framework}_{v},"));
            }
        }
    }
    text
}

impl Triggers {
    /// The blocks of `config`; a `rules_group` that does not compile disables its block (logged).
    pub fn new(config: &Config) -> Self {
        let mut list = Vec::new();
        for block in &config.active_responses {
            let Some(command) = config.commands.iter().find(|c| c.name == block.command) else { continue };
            let group = match block.rules_group.as_deref().map(OsRegex::new).transpose() {
                Ok(g) => g,
                Err(e) => {
                    tracing::error!(stage = "active-response", command = %block.command, "invalid <rules_group>: {e}");
                    continue;
                }
            };
            let rule_ids = block.rules_id.iter().filter_map(|id| id.trim().parse().ok()).collect();
            list.push(Trigger { block: block.clone(), command: command.clone(), group, rule_ids });
        }
        let mut white_list = Vec::new();
        for entry in &config.global.white_list {
            match entry.parse() {
                Ok(net) => white_list.push(net),
                Err(_) => tracing::warn!(
                    stage = "active-response",
                    "<white_list> '{entry}' is not an address or network: vigil does not match host names, it is ignored"
                ),
            }
        }
        Self { list, white_list }
    }

    /// The blocks `alert` fires, or why it fires none.
    pub fn matching(&self, alert: &Alert) -> Result<Vec<&Trigger>, Refused> {
        let id = alert.rule_id().parse().unwrap_or(0);
        let level = alert.level();
        let groups = group_string(alert);
        let fired: Vec<&Trigger> = self.list.iter().filter(|t| t.fires(id, level, &groups)).collect();
        if fired.is_empty() {
            return Ok(fired);
        }
        if let Some(user) = alert.str("data.dstuser")
            && !user.bytes().all(|b| b.is_ascii_alphanumeric() || b"._@?-".contains(&b))
        {
            return Err(Refused::BadUser(user.to_owned()));
        }
        if let Some(ip) = alert.str("data.srcip") {
            if !ip.bytes().all(|b| b.is_ascii_alphanumeric() || b".:_-".contains(&b)) {
                return Err(Refused::BadAddress(ip.to_owned()));
            }
            let ip = ip.strip_prefix("::ffff:").unwrap_or(ip);
            if let Ok(addr) = ip.parse()
                && self.white_list.iter().any(|w| w.contains(addr))
            {
                return Err(Refused::WhiteListed(ip.to_owned()));
            }
        }
        Ok(fired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn triggers(blocks: &str) -> Triggers {
        let xml = format!(
            "<ossec_config><global><white_list>10.1.0.0/16</white_list></global>\
             <command><name>firewall-drop</name><executable>firewall-drop</executable><timeout_allowed>yes</timeout_allowed></command>\
             {blocks}</ossec_config>"
        );
        let loaded = crate::config::parse(&xml, std::path::Path::new("ossec.conf"));
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        Triggers::new(&loaded.config)
    }

    fn alert(id: &str, level: u64, groups: &str, srcip: &str) -> Alert {
        let text = format!(
            r#"{{"rule":{{"id":"{id}","level":{level},"groups":[{groups}],"pci_dss":["10.2.4"]}},"data":{{"srcip":"{srcip}"}}}}"#
        );
        Alert::parse(text.as_bytes()).expect("alert")
    }

    #[test]
    fn binding_follows_analysisd() {
        let t = triggers(
            "<active-response><command>firewall-drop</command><location>local</location><level>6</level><rules_group>sshd|web</rules_group></active-response>\
             <active-response><command>firewall-drop</command><location>local</location><rules_id>100, 200</rules_id><timeout>60</timeout></active-response>\
             <active-response><command>firewall-drop</command><location>local</location><rules_group>pci_dss_10.2.4</rules_group></active-response>",
        );
        let names = |a: &Alert| t.matching(a).expect("fires").iter().map(|t| t.ar_name()).collect::<Vec<_>>();
        assert_eq!(
            names(&alert("5", 7, r#""syslog","sshd""#, "1.2.3.4")),
            ["firewall-drop0", "firewall-drop0"],
            "level AND group; compliance groups count"
        );
        assert_eq!(names(&alert("5", 5, r#""sshd""#, "1.2.3.4")), ["firewall-drop0"], "level too low for the first");
        assert_eq!(names(&alert("200", 3, r#""x""#, "1.2.3.4")), ["firewall-drop60", "firewall-drop0"]);
        assert!(names(&alert("200", 0, r#""sshd""#, "1.2.3.4")).is_empty(), "level 0 fires nothing");
        assert_eq!(
            t.matching(&alert("200", 3, "", "10.1.2.3")).map(|v| v.len()),
            Err(Refused::WhiteListed("10.1.2.3".into()))
        );
        assert_eq!(
            t.matching(&alert("200", 3, "", "1.2.3.4;rm")).map(|v| v.len()),
            Err(Refused::BadAddress("1.2.3.4;rm".into()))
        );
        let quiet = Alert::parse(br#"{"rule":{"id":"1","level":3},"data":{"srcip":"1.2.3.4;rm"}}"#).expect("alert");
        assert!(t.matching(&quiet).expect("nothing fires").is_empty(), "checked only when something fires");
    }
}
