//! Running ini test cases (Wazuh's ruleset/testing format) through the engine as wazuh-logtest
//! would: one session per case, its logs in order, the `-U` exit-code rule at the end.

use serde_json::Value;
use vigil::engine::alert::json::Origin;
use vigil::engine::correlate::Limits;
use vigil::engine::rules::Mode;
use vigil::engine::{Engine, Render, Session};

use super::ruleset_home::Case;

/// The cases grouped as runtests.py groups them: one session per section and key.
pub fn sessions(cases: Vec<Case>) -> Vec<Vec<Case>> {
    let mut groups: Vec<Vec<Case>> = Vec::new();
    for case in cases {
        match groups.iter_mut().find(|g| g[0].section == case.section && g[0].key == case.key) {
            Some(g) => g.push(case),
            None => groups.push(vec![case]),
        }
    }
    groups
}

/// What one session produced.
pub struct Run {
    /// `[rule id, level, decoder]` of the last log, as `-U` compares them.
    pub got: [String; 3],
    /// The logtest output of every log.
    pub outputs: Vec<Value>,
}

/// Runs one session's logs at Unix time `now`.
pub fn run(engine: &Engine, group: &[Case], now: i64) -> Run {
    let session = Session::new(engine.ruleset(), Limits::default());
    let origin = Origin { manager: "vm", cluster: None };
    let mut outputs = Vec::new();
    let mut got = [String::new(), String::new(), String::new()];
    for case in group {
        let raw = format!("1:stdin:{}", case.log);
        let outcome = engine.process(&session, raw.as_bytes(), now, Mode::Logtest, false).expect("predecode");
        let mut warnings = Vec::new();
        let json = engine.alert_json(
            origin,
            &outcome,
            Render { time: (now, 0), id: None, mode: Mode::Logtest, archive: false },
            &mut warnings,
        );
        outputs.push(serde_json::from_str::<Value>(&json).expect("alert JSON parses"));
        let rule = outcome.verdict.rule.map(|r| engine.ruleset().rules.rule(r));
        got = [
            rule.map(|r| r.sid.to_string()).unwrap_or_default(),
            rule.map(|r| r.level.to_string()).unwrap_or_default(),
            engine.decoder_of(&outcome.event).map(|d| d.name.to_string()).unwrap_or_default(),
        ];
    }
    Run { got, outputs }
}

/// Whether `got` satisfies the case as runtests.py judges it: wazuh-logtest -U exits with the
/// number of empty expected fields on equality and 1 otherwise; `pass` wants 0, `fail` not.
pub fn judged_ok(case: &Case, got: &[String; 3]) -> bool {
    let expected = [case.rule.clone(), case.alert.clone(), case.decoder.clone()];
    let exit = if *got == expected { expected.iter().filter(|e| e.is_empty()).count() } else { 1 };
    (exit == 0) == case.pass
}
