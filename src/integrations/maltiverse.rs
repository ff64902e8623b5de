//! `maltiverse`: the alert's hashes (`syscheck.md5_after`, `sha1_after`), public source address
//! (`data.srcip`), host name (`data.hostname`) and URL (`data.url`, looked up by its SHA-256)
//! are looked up in Maltiverse (`hook_url`, bearer `api_key`); each indicator found goes back
//! into the engine as a `maltiverse` event with an ECS `threat` object, so rules 99700-99702
//! fire.

use std::net::IpAddr;

use serde_json::{Map, Value, json};

use super::client::Call;
use super::{Common, Delivery, Integration, Outcome, inject};
use crate::output::alert::Alert;

/// The Maltiverse integration.
#[derive(Debug)]
pub struct Maltiverse {
    common: Common,
    base: String,
    authorization: String,
}

impl Maltiverse {
    /// Needs `hook_url`, `api_key` and somewhere to feed results.
    pub fn new(common: Common) -> anyhow::Result<Self> {
        let base = common.hook_url()?.trim_end_matches('/').to_owned();
        let authorization = format!("Bearer {}", common.credential()?);
        if common.inject.is_none() {
            anyhow::bail!("no engine to feed results to");
        }
        Ok(Self { common, base, authorization })
    }
}

/// What to look up for `alert`: (path under the API, the indicator's name).
pub fn lookups(alert: &Alert) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let safe = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_:".contains(&b));
    for (field, kind) in [("syscheck.md5_after", "md5"), ("syscheck.sha1_after", "sha1")] {
        if let Some(hash) = alert.str(field).filter(|h| safe(h)) {
            out.push((format!("sample/{kind}/{hash}"), hash.to_owned()));
        }
    }
    let ip = alert.str("data.srcip").and_then(|s| s.parse::<IpAddr>().ok()).map(|ip| ip.to_canonical());
    if let Some(ip) = ip.filter(public) {
        out.push((format!("ip/{ip}"), ip.to_string()));
    }
    if let Some(host) = alert.str("data.hostname").filter(|h| safe(h)) {
        out.push((format!("hostname/{host}"), host.to_owned()));
    }
    if let Some(url) = alert.str("data.url") {
        out.push((format!("url/{}", hex_sha256(url.as_bytes())), url.to_owned()));
    }
    out
}

/// A routable address (Maltiverse knows nothing of private ones).
fn public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let shared = v4.octets()[0] == 100 && v4.octets()[1] & 0xc0 == 64;
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || shared)
                && v4.octets()[0] < 224
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback() || v6.is_unspecified() || first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfe80)
        }
    }
}

/// The event for Maltiverse's answer `source` about indicator `name` of `alert`.
pub fn event(alert: &Alert, name: &str, source: &Value) -> Value {
    let blacklist: &[Value] = source.get("blacklist").and_then(Value::as_array).map_or(&[], Vec::as_slice);
    let joined = |key: &str| {
        let mut all: Vec<&str> = blacklist.iter().filter_map(|b| b.get(key).and_then(Value::as_str)).collect();
        all.sort_unstable();
        all.dedup();
        all.join(", ")
    };
    let kind = source.get("type").and_then(Value::as_str);
    let indicator_type = match kind {
        Some("ip") if source.get("ip_version").and_then(Value::as_i64) == Some(6) => json!("ipv6-addr"),
        Some("ip") => json!("ipv4-addr"),
        Some("hostname") => json!("domain-name"),
        Some("sample") => json!("file"),
        Some("url") => json!("url"),
        _ => Value::Null,
    };
    let many = blacklist.len() > 1;
    let confidence = match source.get("classification").and_then(Value::as_str).unwrap_or("") {
        "" => "Not Specified",
        "malicious" if many => "High",
        "malicious" => "Medium",
        "suspicious" if many => "Medium",
        "suspicious" => "Low",
        "neutral" | "whitelist" if many => "Low",
        _ => "None",
    };
    let mut indicator = Map::new();
    indicator.insert("name".into(), json!(name));
    indicator.insert("type".into(), indicator_type);
    indicator.insert("description".into(), json!(joined("description")));
    indicator.insert("provider".into(), json!(joined("source")));
    indicator.insert("first_seen".into(), source.get("creation_time").cloned().unwrap_or(Value::Null));
    indicator.insert("modified_at".into(), source.get("modification_time").cloned().unwrap_or(Value::Null));
    indicator.insert("last_seen".into(), source.get("modification_time").cloned().unwrap_or(Value::Null));
    indicator.insert("confidence".into(), json!(confidence));
    indicator.insert("sightings".into(), json!(blacklist.len()));
    let reference = kind.map_or(String::new(), |k| format!("https://maltiverse.com/{k}/{name}"));
    indicator.insert("reference".into(), json!(reference));
    if kind == Some("ip") {
        indicator.insert("ip".into(), json!(name));
    }
    let mut threat = Map::new();
    threat.insert("indicator".into(), Value::Object(indicator));
    let software = blacklist
        .iter()
        .filter_map(|b| b.get("external_references").and_then(Value::as_array))
        .flatten()
        .filter(|r| r.get("source_name").and_then(Value::as_str) == Some("mitre-attack"))
        .rfind(|r| r.get("external_id").and_then(Value::as_str).is_some_and(|id| id.starts_with('S')));
    if let Some(s) = software {
        threat.insert(
            "software".into(),
            json!({"id": s.get("external_id"), "reference": s.get("url"), "name": s.get("description")}),
        );
    }
    json!({
        "integration": "maltiverse",
        "alert_id": alert.get("id"),
        "maltiverse": {"source": source},
        "threat": threat,
    })
}

impl Integration for Maltiverse {
    fn in_flight(&self) -> usize {
        4
    }

    fn deliver<'a>(&'a self, alert: &'a Alert) -> Delivery<'a> {
        Box::pin(async move {
            let wanted = lookups(alert);
            if wanted.is_empty() {
                return Outcome::Skipped("nothing to look up".into());
            }
            // Every lookup is answered before any event is fed, so a retry cannot feed twice.
            let mut events = Vec::new();
            for (path, name) in &wanted {
                let call = Call {
                    method: hyper::Method::GET,
                    url: format!("{}/{path}", self.base),
                    headers: vec![("accept", "application/json".into()), ("authorization", self.authorization.clone())],
                    body: Default::default(),
                };
                match self.common.http.send(&call).await {
                    Ok(a) if a.status == 404 => {}
                    Ok(a) if (200..300).contains(&a.status) => match a.json() {
                        Some(source) if source.is_object() => events.push(event(alert, name, &source)),
                        _ => {
                            return Outcome::bad_answer(format!("Maltiverse answered no JSON: {}", a.excerpt()));
                        }
                    },
                    other => return super::client::outcome(other),
                }
            }
            if let Some(feed) = &self.common.inject {
                for e in &events {
                    feed(&inject::message("maltiverse", Some(alert), e));
                    super::stats::Stats::bump(&self.common.stats.injected);
                }
            }
            Outcome::Done
        })
    }
}

/// The lowercase hex SHA-256 of `bytes` (with `ring`, the binary's one crypto library).
fn hex_sha256(bytes: &[u8]) -> String {
    crate::hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_and_threat_events() {
        let alert = Alert::parse(
            br#"{"id":"3.4","rule":{},"data":{"srcip":"10.0.0.1","hostname":"evil.example","url":"http://x/y"},"syscheck":{"md5_after":"44d88612fea8a8f36de82e1278abb02f"}}"#,
        )
        .expect("alert");
        let paths: Vec<String> = lookups(&alert).into_iter().map(|(p, _)| p).collect();
        assert_eq!(paths[0], "sample/md5/44d88612fea8a8f36de82e1278abb02f");
        assert_eq!(paths[1], "hostname/evil.example", "a private source address is not looked up");
        assert_eq!(paths[2].len(), "url/".len() + 64);
        let public = Alert::parse(br#"{"rule":{},"data":{"srcip":"8.8.8.8"}}"#).expect("alert");
        assert_eq!(lookups(&public)[0].0, "ip/8.8.8.8");

        let source = json!({"type":"ip","classification":"malicious","blacklist":[
            {"description":"C2","source":"feed-b","external_references":[{"source_name":"mitre-attack","external_id":"S0002","url":"u","description":"Mimikatz"}]},
            {"description":"C2","source":"feed-a"}]});
        let e = event(&public, "8.8.8.8", &source);
        assert_eq!(e["integration"], "maltiverse");
        assert_eq!(e["threat"]["indicator"]["type"], "ipv4-addr");
        assert_eq!(e["threat"]["indicator"]["confidence"], "High");
        assert_eq!(e["threat"]["indicator"]["provider"], "feed-a, feed-b");
        assert_eq!(e["threat"]["indicator"]["sightings"], 2);
        assert_eq!(e["threat"]["software"]["id"], "S0002");
    }
}
