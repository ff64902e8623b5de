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

/// Rules for agent modules' events, which the ini format cannot carry (they come through the
/// built-in module decoders): each rule with the queue message that passes it and the rule that
/// then fires (itself, or for a level-0 parent the child that alerts through it).
const MODULE_CASES: &[(u32, u32, &str)] = &[
    (
        801_201,
        801_201,
        r#"8:[001] (web) any->syscheck:{"type":"event","data":{"path":"/etc/x","mode":"realtime","type":"added","attributes":{"type":"file","checksum":"a"}}}"#,
    ),
    (
        801_200,
        801_200,
        r#"8:[001] (web) any->syscheck:{"type":"event","data":{"path":"/etc/x","mode":"realtime","type":"modified","attributes":{"type":"file","checksum":"b"},"changed_attributes":["size"]}}"#,
    ),
    (
        801_202,
        801_202,
        r#"8:[001] (web) any->syscheck:{"type":"event","data":{"path":"/etc/x","mode":"realtime","type":"deleted","attributes":{"type":"file"}}}"#,
    ),
    (
        801_204,
        801_204,
        r#"8:[001] (web) any->syscheck:{"type":"event","data":{"path":"HKEY_LOCAL_MACHINE\\Software\\k","arch":"[x64]","version":2,"mode":"scheduled","type":"added","attributes":{"type":"registry_key","checksum":"c"}}}"#,
    ),
    (
        801_203,
        801_203,
        r#"8:[001] (web) any->syscheck:{"type":"event","data":{"path":"HKEY_LOCAL_MACHINE\\Software\\k","arch":"[x64]","version":2,"mode":"scheduled","type":"modified","attributes":{"type":"registry_key","checksum":"d"}}}"#,
    ),
    (
        801_205,
        801_205,
        r#"8:[001] (web) any->syscheck:{"type":"event","data":{"path":"HKEY_LOCAL_MACHINE\\Software\\k","arch":"[x64]","version":2,"mode":"scheduled","type":"deleted","attributes":{"type":"registry_key"}}}"#,
    ),
    (
        801_207,
        801_207,
        r#"8:[001] (web) any->syscheck:{"type":"event","data":{"path":"HKEY_LOCAL_MACHINE\\Software\\k","value_name":"v","arch":"[x64]","version":2,"mode":"scheduled","type":"added","attributes":{"type":"registry_value","checksum":"e"}}}"#,
    ),
    (
        801_206,
        801_206,
        r#"8:[001] (web) any->syscheck:{"type":"event","data":{"path":"HKEY_LOCAL_MACHINE\\Software\\k","value_name":"v","arch":"[x64]","version":2,"mode":"scheduled","type":"modified","attributes":{"type":"registry_value","checksum":"f"}}}"#,
    ),
    (
        801_208,
        801_208,
        r#"8:[001] (web) any->syscheck:{"type":"event","data":{"path":"HKEY_LOCAL_MACHINE\\Software\\k","value_name":"v","arch":"[x64]","version":2,"mode":"scheduled","type":"deleted","attributes":{"type":"registry_value"}}}"#,
    ),
    (
        801_009,
        801_002,
        r#"f:[001] (win) any->EventChannel:{"Message":"An account failed to log on.","Event":"<Event><System><EventID>4625</EventID><Level>0</Level><Keywords>0x8010000000000000</Keywords><Channel>Security</Channel></System><EventData><Data Name='TargetUserName'>bob</Data><Data Name='IpAddress'>10.0.0.9</Data></EventData></Event>"}"#,
    ),
];

#[test]
fn module_events_reach_the_default_rules() {
    let (home, engine) = engine();
    let store = vigil::store::Store::open(&home.path().join("db")).expect("store");
    let now = jiff::Timestamp::now().as_second();
    for (_, sid, message) in MODULE_CASES {
        let mut txn = store.state().begin().expect("state transaction");
        let mut effects = vigil::engine::modules::Effects::default();
        let outcome = engine.process_module(&mut txn, &mut effects, message.as_bytes(), now).expect("decodes");
        txn.commit().expect("commit");
        let fired = outcome.and_then(|o| o.verdict.rule).map(|r| engine.ruleset().rules.rule(r).sid);
        assert_eq!(fired, Some(*sid), "{message}");
    }
}

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
    let untested: Vec<u32> = own
        .iter()
        .map(|r| r.sid)
        .filter(|sid| !covered.contains(sid) && !MODULE_CASES.iter().any(|(m, _, _)| m == sid))
        .collect();
    assert!(untested.is_empty(), "rules without an ini case: {untested:?}");
}
