//! vigil's own default ruleset (the project's `ruleset/`, laid out into every new home): it
//! loads without a problem, every rule carries MITRE techniques the table knows and compliance
//! groups, and the ini cases in `tests/ruleset/` (Wazuh's test format) give each rule's id,
//! level and decoder — one or more cases per rule.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::ini::{Run, judged_ok, run, sessions};
use common::ruleset_home::read_ini;
use vigil::engine::Engine;
use vigil::home::Home;

/// vigil's rule ids.
const OWN: std::ops::Range<u32> = 800_000..810_000;

/// Rules whose events the ini format cannot carry yet: FIM events come from the agent's
/// syscheck messages, which the built-in syscheck decoder (agent modules) turns into events.
const NO_INI_CASE: &[u32] = &[801_200, 801_201, 801_202];

fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = Home::new(dir.path().join("home"));
    home.prepare(0).expect("a new home is laid out");
    let config = vigil::config::load(&home.config_file()).config;
    let (ruleset, problems) = vigil::ruleset::load(home.root(), &config.ruleset, &config.alerts);
    assert!(problems.is_empty(), "the default ruleset loads cleanly: {problems:#?}");
    (dir, Engine::new(ruleset, None, "vm").expect("engine"))
}

#[test]
fn every_rule_is_tagged_and_tested() {
    let (_home, engine) = engine();
    let rules = &engine.ruleset().rules;
    let own: Vec<_> = rules.rules().iter().filter(|r| OWN.contains(&r.sid)).collect();
    assert!(own.len() >= 60, "the default ruleset has its rules ({})", own.len());
    for rule in &own {
        assert!(!rule.mitre.ids.is_empty(), "rule {} has MITRE techniques", rule.sid);
        for id in &rule.mitre.ids {
            assert!(engine.ruleset().mitre.technique(id).is_some(), "rule {}: {id} is in the ATT&CK table", rule.sid);
        }
        let compliance = ["pci_dss_", "gdpr_", "hipaa_", "nist_800_53_", "tsc_"];
        for prefix in compliance {
            assert!(rule.group.contains(prefix), "rule {} has {prefix} controls: {}", rule.sid, rule.group);
        }
    }

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ruleset");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("tests/ruleset").flatten().map(|e| e.path()).collect();
    files.sort();
    let now = jiff::Timestamp::now().as_second();
    let (mut total, mut failures, mut covered) = (0, Vec::new(), BTreeSet::new());
    for path in files {
        for group in sessions(read_ini(&path)) {
            let Run { got, .. } = run(&engine, &group, now);
            let Some(case) = group.last() else { continue };
            total += 1;
            if let Ok(sid) = case.rule.parse::<u32>() {
                covered.insert(sid);
            }
            if !judged_ok(case, &got) {
                failures.push(format!(
                    "{} [{}]: got {got:?}, expected [{:?}, {:?}, {:?}]",
                    case.file, case.section, case.rule, case.alert, case.decoder
                ));
            }
        }
    }
    println!("default ruleset: {} of {total} cases passed", total - failures.len());
    assert!(failures.is_empty(), "{} cases failed:\n{}", failures.len(), failures.join("\n"));
    let untested: Vec<u32> =
        own.iter().map(|r| r.sid).filter(|sid| !covered.contains(sid) && !NO_INI_CASE.contains(sid)).collect();
    assert!(untested.is_empty(), "rules without an ini case: {untested:?}");
}
