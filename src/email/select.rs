//! Who gets an alert by e-mail, and how. Only alerts analysisd marked for mail (`rule.mail`:
//! `email_alert_level` or `alert_by_email`) are mailed, as maild mails them: the `<global>`
//! recipients get each, and each `<email_alerts>` block whose criteria all match adds its own
//! recipients, in its format. Unlike Wazuh's maild reading alerts.json, a block's `<group>` is
//! honoured (maild looks for `rule.group`, which alerts.json does not have, and so ignores it).

use crate::config::{Config, EmailAlerts, MailFormat};
use crate::output::alert::Alert;
use crate::ruleset::regex::OsMatch;

/// One granular block, ready to match.
#[derive(Debug)]
struct Block {
    config: EmailAlerts,
    group: Option<OsMatch>,
    location: Option<OsMatch>,
}

/// Where an alert goes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Full notifications to these addresses.
    pub full: Vec<String>,
    /// Short messages to these addresses.
    pub sms: Vec<String>,
    /// Send the full notification now, without waiting to group.
    pub now: bool,
    /// Send it in a message of its own.
    pub alone: bool,
}

impl Delivery {
    /// Nobody gets it.
    pub fn is_empty(&self) -> bool {
        self.full.is_empty() && self.sms.is_empty()
    }
}

/// The recipients' rules.
#[derive(Debug)]
pub struct Selector {
    global: Vec<String>,
    blocks: Vec<Block>,
}

impl Selector {
    /// The rules of `config`; a block whose pattern does not compile is left out (logged).
    pub fn new(config: &Config) -> Self {
        let mut blocks = Vec::new();
        for b in &config.email_alerts {
            let compile = |p: &Option<String>| p.as_deref().map(OsMatch::new).transpose();
            match (compile(&b.group), compile(&b.event_location)) {
                (Ok(group), Ok(location)) => blocks.push(Block { config: b.clone(), group, location }),
                (Err(e), _) | (_, Err(e)) => tracing::error!(stage = "email", "invalid <email_alerts> pattern: {e}"),
            }
        }
        Self { global: config.global.email_to.clone(), blocks }
    }

    /// Where `alert` goes.
    pub fn select(&self, alert: &Alert) -> Delivery {
        let mut d = Delivery::default();
        if alert.get("rule.mail").and_then(serde_json::Value::as_bool) != Some(true) {
            return d;
        }
        d.full.extend(self.global.iter().cloned());
        for block in &self.blocks {
            if !matches(block, alert) {
                continue;
            }
            let b = &block.config;
            match b.format {
                MailFormat::Sms => d.sms.extend(b.email_to.iter().cloned()),
                MailFormat::Full => {
                    d.full.extend(b.email_to.iter().cloned());
                    d.alone |= b.do_not_group;
                    d.now |= b.do_not_delay;
                }
            }
        }
        d.full.sort();
        d.full.dedup();
        d.sms.sort();
        d.sms.dedup();
        d
    }
}

/// Whether every criterion `block` sets matches (a block with none never matches).
fn matches(block: &Block, alert: &Alert) -> bool {
    let b = &block.config;
    let mut any = false;
    if let Some(level) = b.level {
        if alert.level() < u64::from(level) {
            return false;
        }
        any = true;
    }
    if !b.rule_id.is_empty() {
        if !alert.rule_id().parse().is_ok_and(|id: u32| b.rule_id.contains(&id)) {
            return false;
        }
        any = true;
    }
    if let Some(group) = &block.group {
        if !alert.groups().any(|g| group.is_match(g.as_bytes())) {
            return false;
        }
        any = true;
    }
    if let Some(location) = &block.location {
        if !location.is_match(super::compose::host(alert).as_bytes()) {
            return false;
        }
        any = true;
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_by_global_and_granular_rules() {
        let xml = "<ossec_config><global><email_to>soc@example.com</email_to></global>\
                   <email_alerts><email_to>web@example.com</email_to><group>web</group><do_not_delay/></email_alerts>\
                   <email_alerts><email_to>pager@example.com</email_to><level>12</level><format>sms</format></email_alerts>\
                   <email_alerts><email_to>never@example.com</email_to></email_alerts></ossec_config>";
        let loaded = crate::config::parse(xml, std::path::Path::new("ossec.conf"));
        let s = Selector::new(&loaded.config);
        let alert = |level: u64, mail: bool, groups: &str| {
            let text =
                format!(r#"{{"rule":{{"level":{level},"id":"1","mail":{mail},"groups":[{groups}]}},"location":"x"}}"#);
            Alert::parse(text.as_bytes()).expect("alert")
        };
        let d = s.select(&alert(12, true, r#""web","attack""#));
        assert_eq!(d.full, ["soc@example.com", "web@example.com"]);
        assert_eq!(d.sms, ["pager@example.com"]);
        assert!(d.now && !d.alone);
        assert!(s.select(&alert(5, false, r#""web""#)).is_empty(), "not marked for mail: a block does not mail it");
        assert_eq!(s.select(&alert(5, true, r#""syslog""#)).full, ["soc@example.com"], "no block matches");
    }
}
