//! One alerts.json / archives.json line, in the key order Wazuh's `Eventinfo_to_jsonstr` and
//! `W_ParseJSON` produce (engine.md §7.1).

use super::AlertId;
use super::data::data;
use crate::engine::enrich::{Resolved, resolve_ids, resolve_pairs, route_groups};
use crate::engine::event::Event;
use crate::engine::plugins::cjson::{ObjectWriter, print_string};
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

/// The parts of a rule's `rule` object that are the same in every alert, rendered once: group
/// routing and MITRE names cost nothing per alert.
#[derive(Debug, Clone, Default)]
pub struct RuleJson {
    /// `"level":N,` (empty for level 0, which Wazuh leaves out).
    level: String,
    /// The escaped description when it has no `$(field)` to fill in.
    description: Option<String>,
    /// `"id":"…"` and the optional `mitre`, `cve`, `info` and `frequency` members.
    middle: String,
    /// `"mail":…,"groups":[…]` and the compliance arrays.
    tail: String,
    /// MITRE lookups that failed: analysisd warns on every alert of the rule.
    pub warnings: Vec<String>,
}

impl RuleJson {
    /// Renders the fixed parts of `rule`'s object, resolving MITRE ids in `mitre`.
    pub fn new(rule: &Rule, mitre: &Mitre) -> Self {
        let mut out = Self::default();
        if rule.level > 0 {
            out.level = format!("\"level\":{},", rule.level);
        }
        if !rule.description.contains("$(") {
            let mut text = String::new();
            print_string(&rule.description, &mut text);
            out.description = Some(text);
        }
        let m = &mut out.middle;
        m.push_str("\"id\":");
        print_string(&rule.sid.to_string(), m);
        let resolved: Option<Resolved<'_>> = if !rule.mitre.pairs.is_empty() {
            Some(resolve_pairs(mitre, &rule.mitre.pairs))
        } else if !rule.mitre.ids.is_empty() {
            Some(resolve_ids(mitre, &rule.mitre.ids))
        } else {
            None
        };
        if let Some(resolved) = resolved {
            out.warnings = resolved.warnings;
            if let Some(found) = resolved.mitre {
                m.push_str(",\"mitre\":");
                let mut o = ObjectWriter::open(m);
                o.strings("id", found.id);
                o.strings("tactic", found.tactic);
                o.strings("technique", found.technique);
                o.close();
            }
        }
        for (key, value) in [("cve", &rule.cve), ("info", &rule.info)] {
            if let Some(value) = value {
                m.push_str(&format!(",\"{key}\":"));
                print_string(value, m);
            }
        }
        if let Some(frequency) = rule.shown_frequency() {
            m.push_str(&format!(",\"frequency\":{frequency}"));
        }
        let mut t = ObjectWriter::fragment(&mut out.tail);
        t.raw("mail", if rule.options.mail { "true" } else { "false" });
        let groups = route_groups(&rule.group);
        t.strings("groups", groups.groups.iter().copied());
        for (framework, items) in &groups.compliance {
            t.strings(framework.key(), items.iter().copied());
        }
        out
    }
}

/// The rule part of an alert.
#[derive(Debug, Clone, Copy)]
pub struct Fired<'a> {
    /// The rule.
    pub rule: &'a Rule,
    /// Its fixed parts.
    pub json: &'a RuleJson,
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

thread_local! {
    /// The last second formatted, per thread: alerts come in bursts within one second.
    static LAST_SECOND: std::cell::RefCell<(i64, String, String)> = const {
        std::cell::RefCell::new((i64::MIN, String::new(), String::new()))
    };
}

/// `%Y-%m-%dT%H:%M:%S.mmm%z` in the local time zone, appended to `out`.
fn push_timestamp(out: &mut String, seconds: i64, millis: u32) {
    LAST_SECOND.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != seconds {
            let zoned = crate::engine::time::local(seconds);
            *cached = (seconds, zoned.strftime("%Y-%m-%dT%H:%M:%S").to_string(), zoned.strftime("%z").to_string());
        }
        out.push_str(&cached.1);
        out.push('.');
        let millis = millis.min(999);
        out.push(char::from(b'0' + (millis / 100) as u8));
        out.push(char::from(b'0' + (millis / 10 % 10) as u8));
        out.push(char::from(b'0' + (millis % 10) as u8));
        out.push_str(&cached.2);
    });
}

/// Appends `n` in decimal.
fn push_number(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&digits[i..]).unwrap_or_default());
}

/// The alert as one compact JSON object. MITRE lookups that fail are reported in `warnings`,
/// as analysisd logs them.
pub fn alert_json(origin: Origin<'_>, alert: &Alert<'_>, warnings: &mut Vec<String>) -> String {
    let event = alert.event;
    let pre = &event.pre;
    let mut out = String::with_capacity(768 + pre.full_log.len() * 2);
    let mut root = ObjectWriter::open(&mut out);
    {
        // Timestamps hold no character JSON escapes.
        let out = root.key("timestamp");
        out.push('"');
        push_timestamp(out, alert.time.0, alert.time.1);
        out.push('"');
    }
    if let Some(fired) = &alert.fired {
        warnings.extend(fired.json.warnings.iter().cloned());
        rule_object(root.key("rule"), fired);
    }
    if !agentless(pre) {
        let mut agent = ObjectWriter::open(root.key("agent"));
        agent.string("id", &pre.agent_id);
        if pre.location.starts_with('(') {
            agent.string("name", &pre.hostname);
        } else if pre.agent_id == "000" {
            agent.string("name", origin.manager);
        }
        if let Some(ip) = agent_ip(&pre.location).filter(|ip| *ip != "any") {
            agent.string("ip", ip);
        }
        agent.close();
    }
    let mut manager = ObjectWriter::open(root.key("manager"));
    manager.string("name", origin.manager);
    manager.close();
    if let Some(id) = alert.id {
        let out = root.key("id");
        out.push('"');
        push_number(out, id.seconds.unsigned_abs());
        out.push('.');
        push_number(out, id.sequence);
        out.push('"');
    }
    if let Some((name, node)) = origin.cluster {
        let mut cluster = ObjectWriter::open(root.key("cluster"));
        cluster.string("name", name);
        cluster.string("node", node);
        cluster.close();
    }
    if alert.fired.is_some() && alert.last_events.len() >= 2 && !alert.last_events[1].is_empty() {
        let joined: Vec<&str> = alert.last_events.iter().map(|e| &**e).collect();
        root.string("previous_output", &joined.join("\n"));
    }
    let no_full_log = alert.fired.is_some_and(|f| f.rule.options.no_full_log);
    if alert.force_full_log || !no_full_log {
        root.string("full_log", &pre.full_log);
    }
    if let Some(fim) = &event.fim {
        root.raw("syscheck", &fim.json);
    }
    let early_predecoder = pre.program_name.is_some() || pre.timestamp.is_some();
    let hostname = shown_hostname(&pre.full_log);
    if early_predecoder {
        let mut p = ObjectWriter::open(root.key("predecoder"));
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
    }
    let mut d = ObjectWriter::open(root.key("decoder"));
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
    if let Some(previous) = alert.previous_log {
        root.string("previous_log", previous);
    }
    if let Some(data) = data(event).filter(|_| event.fim.is_none()) {
        data.print(root.key("data"));
    }
    if !early_predecoder && let Some(h) = hostname {
        let mut p = ObjectWriter::open(root.key("predecoder"));
        p.string("hostname", h);
        p.close();
    }
    let location = match pre.location.strip_prefix('(') {
        Some(_) => pre.location.split_once('>').map(|(_, rest)| rest),
        None => Some(pre.location.as_str()),
    };
    if let Some(location) = location {
        root.string("location", location);
    }
    if let Some((script, user, host)) = agentless_parts(pre) {
        let mut a = ObjectWriter::open(root.key("agentless"));
        a.string("script", script);
        a.string("user", user);
        a.string("host", host);
        a.close();
    }
    root.close();
    out
}

fn rule_object(out: &mut String, fired: &Fired<'_>) {
    let json = fired.json;
    out.push('{');
    out.push_str(&json.level);
    out.push_str("\"description\":");
    match &json.description {
        Some(fixed) => out.push_str(fixed),
        None => print_string(fired.description, out),
    }
    out.push(',');
    out.push_str(&json.middle);
    if let Some(n) = fired.fired_times.filter(|_| !fired.rule.options.no_counter) {
        out.push_str(",\"firedtimes\":");
        push_number(out, u64::from(n));
    }
    out.push(',');
    out.push_str(&json.tail);
    if fired.level_last && fired.rule.level == 0 {
        out.push_str(",\"level\":0");
    }
    out.push('}');
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::predecode::predecode;

    fn render(raw: &[u8], origin: Origin<'_>) -> serde_json::Value {
        let event = Event::new(predecode(raw, "manager").expect("predecode"));
        let alert = Alert {
            time: (1_795_800_000, 7),
            id: Some(AlertId { seconds: 1_795_800_000, sequence: 3 }),
            event: &event,
            decoder: None,
            fired: None,
            last_events: &[],
            previous_log: None,
            force_full_log: false,
        };
        let text = alert_json(origin, &alert, &mut Vec::new());
        serde_json::from_str(&text).expect("valid JSON")
    }

    #[test]
    fn agent_events_show_agent_ip_location_and_cluster() {
        let origin = Origin { manager: "mgr.example", cluster: Some(("wazuh", "node01")) };
        let v = render(b"1:[001] (web01) 10.0.0.5->/var/log/secure:Nov 27 12:00:00 web01 app: x", origin);
        assert_eq!(v["agent"]["id"], "001");
        assert_eq!(v["agent"]["ip"], "10.0.0.5");
        assert_eq!(v["location"], "/var/log/secure");
        assert_eq!(v["cluster"], serde_json::json!({"name": "wazuh", "node": "node01"}));
        assert_eq!(v["id"], "1795800000.3");
        assert_eq!(v["decoder"], serde_json::json!({}), "an undecoded event has an empty decoder object");
        assert!(v["timestamp"].as_str().is_some_and(|t| t.contains(".007")));
        let local = render(b"1:/var/log/syslog:plain", Origin { manager: "mgr.example", cluster: None });
        assert_eq!(local["agent"], serde_json::json!({"id": "000", "name": "mgr.example"}));
        assert!(local.get("cluster").is_none());
    }
}
