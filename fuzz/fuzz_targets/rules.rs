//! Any rule file text loads without panicking (problems are reported, broken rules dropped),
//! the tree it builds evaluates events without panicking, and logtest requests parse or are
//! refused with a code.
#![no_main]

use std::collections::HashSet;

use vigil::engine::Engine;
use vigil::engine::rules::Mode;
use vigil::ruleset::Ruleset;
use vigil::ruleset::lists::Lists;
use vigil::ruleset::rule::{RuleContext, RuleTree};
use vigil::xml::Document;

const EVENTS: [&[u8]; 3] = [
    b"1:stdin:Nov 27 12:00:00 host sshd[1]: Failed password for root from 10.0.0.1 port 22 ssh2",
    b"1:(agent) 10.0.0.2->/var/log/secure:{\"a\":{\"b\":\"c\"},\"srcip\":\"10.0.0.3\"}",
    b"1:stdin:plain text with no header",
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = vigil::logtest::request::parse(&text);
    let Ok(mut doc) = Document::parse(&text) else { return };
    if doc.apply_variables().is_err() {
        return;
    }
    let decoders: HashSet<String> = ["json".to_owned()].into_iter().collect();
    let lists = Lists::default();
    let context =
        RuleContext { decoders: &decoders, lists: &lists, log_alert_level: 3, email_alert_level: 12, default_timeframe: 360 };
    let mut rules = RuleTree::default();
    let mut problems = Vec::new();
    rules.load_file("fuzz.xml", &doc, &context, &mut problems);
    rules.finish();
    let ruleset = Ruleset { rules, ..Ruleset::default() };
    let Ok(engine) = Engine::new(ruleset, None, "manager") else { return };
    let session = vigil::engine::Session::new(engine.ruleset(), Default::default());
    for event in EVENTS {
        for mode in [Mode::Analysisd, Mode::Logtest] {
            if let Ok(outcome) = engine.process(&session, event, 1_795_800_000, mode, true) {
                let origin = vigil::engine::alert::json::Origin { manager: "m", cluster: None };
                let _ = engine.alert_json(origin, &outcome, vigil::engine::Render { time: (1_795_800_000, 0), id: None, mode, archive: false }, &mut Vec::new());
            }
        }
    }
});
