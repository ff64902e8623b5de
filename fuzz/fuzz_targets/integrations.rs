//! What integrations parse from outside never panics: alerts read from the log (and every
//! service's payload built from them), templates filled from them, threat feeds made into
//! lists (each line of which Wazuh's list reader takes), and check_keys answers from scripts.
#![no_main]

use vigil::integrations::{jira, maltiverse, pagerduty, servicenow, shuffle, slack, template, virustotal};
use vigil::output::alert::Alert;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let options = serde_json::Map::new();
    if let Some(alert) = Alert::parse(data) {
        let _ = slack::payload(&alert, &options);
        let _ = pagerduty::payload(&alert, "k", &options);
        let _ = shuffle::payload(&alert, &options);
        let _ = jira::payload(&alert, "P", "Task");
        let _ = servicenow::incident(&alert);
        let _ = virustotal::md5(&alert);
        let _ = maltiverse::lookups(&alert);
        let _ = vigil::integrations::custom::legacy(&alert, 165);
        let filled = template::render(r#"{"t": "$(rule.description) $(full_log) $(data.srcip)"}"#, &alert);
        assert!(serde_json::from_str::<serde_json::Value>(&filled).is_ok(), "{filled}");
        let _ = vigil::email::compose::body(&alert);
    }
    let text = String::from_utf8_lossy(data);
    let list = vigil::ruleset::lists::feed::convert(&text, vigil::ruleset::lists::feed::Kind::Auto, 0, "v");
    for line in list.text.lines() {
        assert!(vigil::ruleset::lists::parse::entry(line.as_bytes()).is_some(), "{line}");
    }
    let _ = vigil::active_response::execd::check_keys(&text);
});
