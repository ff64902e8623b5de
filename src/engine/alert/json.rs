//! One alerts.json / archives.json line, in the key order Wazuh's `Eventinfo_to_jsonstr` and
//! `W_ParseJSON` produce (engine.md §7.1).

use super::AlertId;
use super::data::data_json;
use crate::engine::enrich::{Resolved, resolve_ids, resolve_pairs, route_groups};
use crate::engine::event::Event;
use crate::engine::plugins::cjson::ObjectWriter;
use crate::engine::predecode::shown_hostname;
use crate::ruleset::decoder::Decoder;
use crate::ruleset::mitre::Mitre;
use crate::ruleset::rule::Rule;

/// Where the alert is made: manager and cluster names.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The manager's host name (`manager.name`).
    pub manager: &'a str,
    /// Cluster name and node, when a cluster is configured and not hidden.
    pub cluster: Option<(&'a str, &'a str)>,
}

/// The rule part of an alert.
#[derive(Debug, Clone, Copy)]
pub struct Fired<'a> {
    /// The rule.
    pub rule: &'a Rule,
    /// Its description with `$(field)`s replaced.
    pub description: &'a str,
    /// `firedtimes`, when counted.
    pub fired_times: Option<u32>,
    /// logtest shows level-0 matches with `level` last (wazuh-logtest appends it).
    pub level_last: bool,
}

/// Everything one JSON line is built from.
#[derive(Debug, Clone, Copy)]
pub struct Alert<'a> {
    /// Receive time: Unix seconds and milliseconds.
    pub time: (i64, u32),
    /// The alert id, when there is one.
    pub id: Option<AlertId>,
    /// The event.
    pub event: &'a Event,
    /// Its decoder.
    pub decoder: Option<&'a Decoder>,
    /// The rule, for alerts.
    pub fired: Option<Fired<'a>>,
    /// Previous events of a correlation (shown from two on).
    pub last_events: &'a [std::sync::Arc<str>],
    /// The previous log of a `check_diff` rule.
    pub previous_log: Option<&'a str>,
    /// Archives always carry `full_log`.
    pub force_full_log: bool,
}

/// `%Y-%m-%dT%H:%M:%S.mmm%z` in the local time zone.
pub fn timestamp(seconds: i64, millis: u32) -> String {
    let zoned = jiff::Timestamp::from_second(seconds)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(jiff::tz::TimeZone::system());
    format!("{}.{millis:03}{}", zoned.strftime("%Y-%m-%dT%H:%M:%S"), zoned.strftime("%z"))
}

/// The alert as one compact JSON object. MITRE lookups that fail are reported in `warnings`,
/// as analysisd logs them.
pub fn alert_json(origin: Origin<'_>, alert: &Alert<'_>, mitre: &Mitre, warnings: &mut Vec<String>) -> String {
    let event = alert.event;
    let pre = &event.pre;
    let mut out = String::with_capacity(512 + pre.full_log.len() * 2);
    let mut root = ObjectWriter::open(&mut out);
    root.string("timestamp", &timestamp(alert.time.0, alert.time.1));
    if let Some(fired) = &alert.fired {
        let mut text = String::new();
        rule_object(&mut text, fired, mitre, warnings);
        root.raw("rule", &text);
    }
    {
        let mut text = String::new();
        let mut agent = ObjectWriter::open(&mut text);
        agent.string("id", &pre.agent_id);
        let from_agent = pre.location.starts_with('(');
        if from_agent {
            agent.string("name", &pre.hostname);
        } else if pre.agent_id == "000" {
            agent.string("name", origin.manager);
        }
        if let Some(ip) = agent_ip(&pre.location).filter(|ip| *ip != "any") {
            agent.string("ip", ip);
        }
        agent.close();
        if !agentless(pre) {
            root.raw("agent", &text);
        }
    }
    {
        let mut text = String::new();
        let mut manager = ObjectWriter::open(&mut text);
        manager.string("name", origin.manager);
        manager.close();
        root.raw("manager", &text);
    }
    if let Some(id) = alert.id {
        root.string("id", &id.to_string());
    }
    if let Some((name, node)) = origin.cluster {
        let mut text = String::new();
        let mut cluster = ObjectWriter::open(&mut text);
        cluster.string("name", name);
        cluster.string("node", node);
        cluster.close();
        root.raw("cluster", &text);
    }
    if alert.fired.is_some() && alert.last_events.len() >= 2 && !alert.last_events[1].is_empty() {
        let joined: Vec<&str> = alert.last_events.iter().map(|e| &**e).collect();
        root.string("previous_output", &joined.join("\n"));
    }
    let no_full_log = alert.fired.is_some_and(|f| f.rule.options.no_full_log);
    if alert.force_full_log || !no_full_log {
        root.string("full_log", &pre.full_log);
    }
    let early_predecoder = pre.program_name.is_some() || pre.timestamp.is_some();
    let hostname = shown_hostname(&pre.full_log);
    if early_predecoder {
        let mut text = String::new();
        let mut p = ObjectWriter::open(&mut text);
        if let Some(name) = &pre.program_name {
            p.string("program_name", name);
        }
        if let Some(ts) = &pre.timestamp {
            p.string("timestamp", ts);
        }
        if let Some(h) = hostname {
            p.string("hostname", h);
        }
        p.close();
        root.raw("predecoder", &text);
    }
    {
        let mut text = String::new();
        let mut d = ObjectWriter::open(&mut text);
        if let Some(decoder) = alert.decoder {
            if decoder.accumulate {
                d.raw("accumulate", "1");
            }
            if let Some(parent) = &decoder.parent {
                d.string("parent", parent);
            }
            d.string("name", &decoder.name);
            if let Some(comment) = &decoder.ftscomment {
                d.string("ftscomment", comment);
            }
        }
        d.close();
        root.raw("decoder", &text);
    }
    if let Some(previous) = alert.previous_log {
        root.string("previous_log", previous);
    }
    if let Some(data) = data_json(event) {
        root.raw("data", &data);
    }
    if !early_predecoder && let Some(h) = hostname {
        let mut text = String::new();
        let mut p = ObjectWriter::open(&mut text);
        p.string("hostname", h);
        p.close();
        root.raw("predecoder", &text);
    }
    let location = match pre.location.strip_prefix('(') {
        Some(_) => pre.location.split_once('>').map(|(_, rest)| rest),
        None => Some(pre.location.as_str()),
    };
    if let Some(location) = location {
        root.string("location", location);
    }
    if let Some((script, user, host)) = agentless_parts(pre) {
        let mut text = String::new();
        let mut a = ObjectWriter::open(&mut text);
        a.string("script", script);
        a.string("user", user);
        a.string("host", host);
        a.close();
        root.raw("agentless", &text);
    }
    root.close();
    out
}

fn rule_object(out: &mut String, fired: &Fired<'_>, mitre: &Mitre, warnings: &mut Vec<String>) {
    let rule = fired.rule;
    let mut r = ObjectWriter::open(out);
    if rule.level > 0 {
        r.raw("level", &rule.level.to_string());
    }
    r.string("description", fired.description);
    r.string("id", &rule.sid.to_string());
    let resolved: Option<Resolved<'_>> = if !rule.mitre.pairs.is_empty() {
        Some(resolve_pairs(mitre, &rule.mitre.pairs))
    } else if !rule.mitre.ids.is_empty() {
        Some(resolve_ids(mitre, &rule.mitre.ids))
    } else {
        None
    };
    if let Some(resolved) = resolved {
        warnings.extend(resolved.warnings);
        if let Some(m) = resolved.mitre {
            let mut text = String::new();
            let mut o = ObjectWriter::open(&mut text);
            o.strings("id", m.id);
            o.strings("tactic", m.tactic);
            o.strings("technique", m.technique);
            o.close();
            r.raw("mitre", &text);
        }
    }
    if let Some(cve) = &rule.cve {
        r.string("cve", cve);
    }
    if let Some(info) = &rule.info {
        r.string("info", info);
    }
    if let Some(frequency) = rule.shown_frequency() {
        r.raw("frequency", &frequency.to_string());
    }
    if let Some(fired_times) = fired.fired_times.filter(|_| !rule.options.no_counter) {
        r.raw("firedtimes", &fired_times.to_string());
    }
    r.raw("mail", if rule.options.mail { "true" } else { "false" });
    let groups = route_groups(&rule.group);
    r.strings("groups", groups.groups.iter().copied());
    for (framework, items) in &groups.compliance {
        r.strings(framework.key(), items.iter().copied());
    }
    if fired.level_last && rule.level == 0 {
        r.raw("level", "0");
    }
    r.close();
}

/// The agent address in an agent location `(name) ip->file`.
fn agent_ip(location: &str) -> Option<&str> {
    if !location.starts_with('(') {
        return None;
    }
    let after = &location[location.find(')')? + 1..];
    let after = after.get(1..)?;
    Some(after.split('-').next().unwrap_or(after))
}

fn agentless(pre: &crate::engine::predecode::Predecoded) -> bool {
    agentless_parts(pre).is_some()
}

/// `(script) user@host->location` from the manager: an agentless device.
fn agentless_parts(pre: &crate::engine::predecode::Predecoded) -> Option<(&str, &str, &str)> {
    if !pre.location.starts_with('(') || pre.agent_id != "000" {
        return None;
    }
    let (script, rest) = pre.location[1..].split_once(") ")?;
    let (user, rest) = rest.split_once('@')?;
    let host = rest.split("->").next().unwrap_or(rest);
    Some((script, user, host))
}
