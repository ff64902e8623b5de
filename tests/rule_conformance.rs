//! Conformance of the rule engine: every log of every shared ini test file, run as Wazuh's
//! runner runs it (the test rules and decoders loaded, rule 60000 switched to JSON, one
//! logtest session per case, repeated `log N` keys as several events of one session), gets
//! the rule id, level and decoder the ini expects, with the exit-code rule of wazuh-logtest
//! `-U`. Where the real analysisd 4.14.7 answered the same case (golden outputs), the whole
//! logtest output is compared too, field by field.

mod common;

use std::collections::BTreeMap;

use common::ini::{Run, judged_ok, run, sessions};
use common::ruleset_home::{lay_out, load_config, read_ini, shared};
use serde_json::Value;
use vigil::engine::Engine;

/// Known failures: (ini file, section, log key, reason). Keep it empty.
const KNOWN_FAILURES: &[(&str, &str, &str, &str)] = &[];

fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().expect("tempdir");
    lay_out(dir.path(), true);
    let config = load_config();
    let (ruleset, problems) = vigil::ruleset::load(dir.path(), &config.ruleset, &config.alerts);
    let errors: Vec<String> = problems.iter().filter(|p| !p.warning).map(ToString::to_string).collect();
    assert!(errors.is_empty(), "ruleset errors: {errors:#?}");
    (dir, Engine::new(ruleset, None, "vm").expect("engine"))
}

/// Removes what the comparison ignores: times, ids, host names, MITRE names (vigil's table,
/// ATT&CK v18.1, is newer than the v13.1 one 4.14.7 shipped, so a technique ATT&CK has since
/// revoked leaves no `mitre` object at all, as Wazuh does for ids its table lacks).
fn comparable(mut output: Value, known: &dyn Fn(&str) -> bool) -> Value {
    let any_known = output
        .pointer("/rule/mitre/id")
        .and_then(Value::as_array)
        .is_some_and(|ids| ids.iter().any(|id| id.as_str().is_some_and(known)));
    if !any_known && let Some(rule) = output.get_mut("rule").and_then(Value::as_object_mut) {
        rule.remove("mitre");
    }
    if let Some(o) = output.as_object_mut() {
        o.remove("timestamp");
        o.remove("id");
        o.remove("manager");
    }
    if let Some(agent) = output.get_mut("agent").and_then(Value::as_object_mut) {
        agent.remove("name");
    }
    if let Some(mitre) = output.pointer_mut("/rule/mitre").and_then(Value::as_object_mut) {
        mitre.remove("tactic");
        mitre.remove("technique");
    }
    output
}

#[test]
fn every_ini_log_gets_wazuhs_rule_level_and_decoder() {
    let (_home, engine) = engine();
    let golden: BTreeMap<(String, String, String), Value> =
        std::fs::read_to_string(shared().join("golden/logtest-shared.jsonl"))
            .expect("golden")
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("golden line"))
            .map(|v| {
                let key = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
                ((key("file"), key("section"), key("key")), v)
            })
            .collect();
    let mut files: Vec<_> =
        std::fs::read_dir(shared().join("ruleset/testing/tests")).expect("tests").flatten().map(|e| e.path()).collect();
    files.sort();
    let (mut total, mut passed, mut golden_checked, mut golden_equal) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    let mut golden_diffs = Vec::new();
    let now = jiff::Timestamp::now().as_second();
    let in_table = |id: &str| engine.ruleset().mitre.technique(id).is_some();
    for path in files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.contains("_geoip") {
            continue; // Wazuh builds without GeoIP; these run only with --geoip.
        }
        for group in sessions(read_ini(&path)) {
            let Run { got, outputs } = run(&engine, &group, now);
            let Some(case) = group.last() else { continue };
            let expected = [case.rule.clone(), case.alert.clone(), case.decoder.clone()];
            total += 1;
            let known = KNOWN_FAILURES.iter().any(|k| k.0 == case.file && k.1 == case.section && k.2 == case.key);
            if judged_ok(case, &got) {
                passed += 1;
            } else if !known {
                failures.push(format!(
                    "{} [{}] {} ({}): got {got:?}, expected {expected:?}\n    {}",
                    case.file,
                    case.section,
                    case.key,
                    if case.pass { "pass" } else { "fail" },
                    case.log.chars().take(160).collect::<String>()
                ));
            }
            if let Some(g) = golden.get(&(case.file.clone(), case.section.clone(), case.key.clone())) {
                let wanted: Vec<Value> = g["outputs"]
                    .as_array()
                    .map(|o| o.iter().map(|x| x["output"].clone()).collect())
                    .unwrap_or_default();
                if wanted.len() == outputs.len() {
                    golden_checked += 1;
                    let same = wanted
                        .iter()
                        .zip(&outputs)
                        .all(|(w, o)| comparable(w.clone(), &in_table) == comparable(o.clone(), &in_table));
                    if same {
                        golden_equal += 1;
                    } else if let (Some(w), Some(o)) = (wanted.last(), outputs.last()) {
                        golden_diffs.push(format!(
                            "{} [{}] {}:\n    want {}\n    got  {}",
                            case.file,
                            case.section,
                            case.key,
                            comparable(w.clone(), &in_table),
                            comparable(o.clone(), &in_table)
                        ));
                    }
                }
            }
        }
    }
    println!("rule conformance: {passed}/{total} cases; golden outputs equal: {golden_equal}/{golden_checked}");
    assert!(total > 1300, "the ini cases were not found ({total})");
    assert!(failures.is_empty(), "{} cases failed:\n{}", failures.len(), failures.join("\n"));
    assert!(golden_checked > 1300, "golden outputs were not matched ({golden_checked})");
    assert!(
        golden_diffs.is_empty(),
        "{} outputs differ from analysisd's:\n{}",
        golden_diffs.len(),
        golden_diffs[..golden_diffs.len().min(20)].join("\n")
    );
}
