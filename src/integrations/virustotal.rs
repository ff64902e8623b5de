//! `virustotal`: FIM alerts with an MD5 (`syscheck.md5_after`) are looked up in VirusTotal's v2
//! file report API with `api_key`, and the answer goes back into the engine as a `virustotal`
//! event of the alert's agent, so rules 87100-87106 fire: found or not, positives, and the
//! errors (204 rate limit, 403 credentials, 408 time-out after `<retries>`). `hook_url`, when
//! set, replaces `https://www.virustotal.com` (a proxy, or a test server).

use serde_json::{Map, Value, json};

use super::client::Call;
use super::inject::{self, Injector};
use super::{Common, Delivery, Integration, Outcome};
use crate::output::alert::Alert;

/// VirusTotal's site.
pub const SITE: &str = "https://www.virustotal.com";

/// The VirusTotal integration.
#[derive(Debug)]
pub struct VirusTotal {
    common: Common,
    url: String,
    api_key: String,
}

impl VirusTotal {
    /// Needs `api_key` and somewhere to feed results.
    pub fn new(common: Common) -> anyhow::Result<Self> {
        let api_key = common.credential()?.to_owned();
        if common.inject.is_none() {
            anyhow::bail!("no engine to feed results to");
        }
        let base = common.hook_url_or(SITE)?;
        Ok(Self { url: format!("{}/vtapi/v2/file/report", base.trim_end_matches('/')), common, api_key })
    }
}

/// The MD5 of a FIM alert: `syscheck.md5_after` holding exactly one 32-hex-digit hash.
pub fn md5(alert: &Alert) -> Option<&str> {
    let text = alert.str("syscheck.md5_after")?;
    let hex = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
    let mut found = text.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| hex(w));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// The event for an error.
fn error(code: u16, description: &str) -> Value {
    json!({"virustotal": {"error": code, "description": description}, "integration": "virustotal"})
}

/// The event for VirusTotal's report `report` on `alert`'s file.
pub fn result(alert: &Alert, report: &Value) -> Value {
    let found = report.get("response_code").and_then(Value::as_i64).is_some_and(|c| c != 0);
    let positives = report.get("positives").and_then(Value::as_u64).unwrap_or(0);
    let mut vt = Map::new();
    vt.insert("found".into(), json!(u8::from(found)));
    vt.insert("malicious".into(), json!(u8::from(found && positives > 0)));
    vt.insert(
        "source".into(),
        json!({
            "alert_id": alert.get("id"),
            "file": alert.get("syscheck.path"),
            "md5": alert.get("syscheck.md5_after"),
            "sha1": alert.get("syscheck.sha1_after"),
        }),
    );
    if found {
        for key in ["sha1", "scan_date", "positives", "total", "permalink"] {
            vt.insert(key.into(), report.get(key).cloned().unwrap_or(Value::Null));
        }
    }
    json!({"virustotal": vt, "integration": "virustotal"})
}

impl VirusTotal {
    fn feed(&self, alert: Option<&Alert>, event: &Value) {
        if let Some(inject) = &self.common.inject {
            send(inject, alert, event);
            super::stats::Stats::bump(&self.common.stats.injected);
        }
    }
}

fn send(inject: &Injector, alert: Option<&Alert>, event: &Value) {
    inject(&inject::message("virustotal", alert, event));
}

impl Integration for VirusTotal {
    fn in_flight(&self) -> usize {
        4
    }

    fn deliver<'a>(&'a self, alert: &'a Alert) -> Delivery<'a> {
        Box::pin(async move {
            let Some(md5) = md5(alert) else { return Outcome::Skipped("no MD5 in the alert".into()) };
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("apikey", &self.api_key)
                .append_pair("resource", md5)
                .finish();
            let call = Call {
                method: hyper::Method::GET,
                url: format!("{}?{query}", self.url),
                headers: vec![("accept", "application/json".into())],
                body: Default::default(),
            };
            let mut tries = 0;
            let answer = loop {
                match self.common.http.send(&call).await {
                    Ok(answer) => break answer,
                    Err(e) if tries < self.common.block.retries => {
                        tries += 1;
                        tracing::debug!(stage = "integrations", "VirusTotal: {e}; trying again");
                    }
                    Err(e) => {
                        self.feed(None, &error(408, "Error: API request timed out"));
                        return Outcome::Failed(e.to_string());
                    }
                }
            };
            match answer.status {
                200 => match answer.json() {
                    Some(report) => {
                        self.feed(Some(alert), &result(alert, &report));
                        Outcome::Done
                    }
                    None => Outcome::bad_answer(format!("VirusTotal answered no JSON: {}", answer.excerpt())),
                },
                429 | 500.. => super::client::outcome(Ok(answer)),
                status => {
                    let description = match status {
                        204 => "Error: Public API request rate limit reached",
                        403 => "Error: Check credentials",
                        _ => "Error: API request fail",
                    };
                    self.feed(None, &error(status, description));
                    Outcome::Failed(format!("HTTP {status}: {description}"))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_result_events() {
        let fim = br#"{"id":"7.1","rule":{"level":7},"syscheck":{"path":"/tmp/x","md5_after":"44d88612fea8a8f36de82e1278abb02f","sha1_after":"3395856ce81f2b7382dee72602f798b642f14140"}}"#;
        let alert = Alert::parse(fim).expect("alert");
        assert_eq!(md5(&alert), Some("44d88612fea8a8f36de82e1278abb02f"));
        let two = Alert::parse(br#"{"rule":{},"syscheck":{"md5_after":"44d88612fea8a8f36de82e1278abb02f 44d88612fea8a8f36de82e1278abb02f"}}"#).expect("alert");
        assert_eq!(md5(&two), None, "exactly one hash, as Wazuh's script asks");
        assert_eq!(md5(&Alert::parse(br#"{"rule":{}}"#).expect("alert")), None);

        let hit = result(
            &alert,
            &json!({"response_code":1,"positives":3,"total":60,"sha1":"s","scan_date":"d","permalink":"p"}),
        );
        assert_eq!(hit["virustotal"]["malicious"], 1);
        assert_eq!(hit["virustotal"]["positives"], 3);
        assert_eq!(hit["virustotal"]["source"]["file"], "/tmp/x");
        let miss = result(&alert, &json!({"response_code":0}));
        assert_eq!((miss["virustotal"]["found"].as_u64(), miss["virustotal"].get("positives")), (Some(0), None));
    }
}
