//! Rule loading and evaluation semantics on small rule files: Wazuh's messages (with file and
//! line) for broken rules while the rest loads, skip cascades, overwrite in place, sibling
//! order by level, correlation limits.

mod common;

use vigil::engine::Engine;
use vigil::engine::correlate::Limits;
use vigil::engine::rules::Mode;
use vigil::ruleset::Problem;

const DECODERS: &str = r#"
<decoder name="t-app">
  <program_name>^tapp$</program_name>
  <regex>^(\w+) from (\S+)$</regex>
  <order>action, srcip</order>
</decoder>
"#;

/// A home with one decoder file and `rules` as its only rule file (plus the templates).
fn load(rules: &str) -> (tempfile::TempDir, vigil::ruleset::Ruleset, Vec<Problem>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    for d in ["ruleset/decoders", "ruleset/rules", "etc/lists"] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    std::fs::write(root.join("ruleset/decoders/t.xml"), DECODERS).expect("decoders");
    let templates = r#"<group name="t,"><rule id="1" level="0" noalert="1"><category>syslog</category><description>syslog</description></rule></group>"#;
    std::fs::write(root.join("ruleset/rules/0001-templates.xml"), templates).expect("templates");
    std::fs::write(root.join("ruleset/rules/0002-test.xml"), rules).expect("rules");
    std::fs::write(root.join("etc/lists/bad-ips"), "10.0.0.66:\n").expect("list");
    let mut config = vigil::config::Ruleset::with_defaults();
    config.lists = vec!["etc/lists/bad-ips".into()];
    let (ruleset, problems) = vigil::ruleset::load(root, &config, &Default::default());
    (dir, ruleset, problems)
}

fn messages(problems: &[Problem]) -> Vec<String> {
    problems.iter().map(ToString::to_string).collect()
}

fn sids(ruleset: &vigil::ruleset::Ruleset) -> Vec<u32> {
    let mut s: Vec<u32> = ruleset.rules.rules().iter().map(|r| r.sid).collect();
    s.sort_unstable();
    s
}

fn rule(id: u32, level: u32, body: &str) -> String {
    format!(r#"<rule id="{id}" level="{level}">{body}<description>rule {id}</description></rule>"#)
}

fn group(rules: &[String]) -> String {
    format!(r#"<group name="test,">{}</group>"#, rules.concat())
}

/// Rule id an event from `tapp` gets, processed as logtest would.
fn verdict(engine: &Engine, session: &vigil::engine::Session, log: &str) -> Option<u32> {
    let raw = format!("1:stdin:Nov 27 12:00:00 host tapp[1]: {log}");
    let outcome = engine.process(session, raw.as_bytes(), 1_795_800_000, Mode::Logtest, false).expect("predecode");
    outcome.verdict.rule.map(|r| engine.ruleset().rules.rule(r).sid)
}

#[test]
fn broken_rules_are_reported_with_file_and_line_and_the_rest_loads() {
    let (_dir, ruleset, problems) = load(&group(&[
        rule(100, 3, "<decoded_as>t-app</decoded_as>"),
        rule(100, 5, "<match>dup</match>"),
        r#"<rule id="101" level="3"><if_sid>100</if_sid><match>x</match></rule>"#.to_owned(),
        rule(102, 3, "<if_sid>999</if_sid>"),
        rule(103, 3, "<if_sid>102</if_sid>"),
        rule(104, 3, "<if_sid>100|1</if_sid>"),
        rule(105, 3, "<if_sid>100</if_sid><list field=\"srcip\">etc/lists/missing</list>"),
        rule(106, 3, "<if_sid>100</if_sid><decoded_as>nope</decoded_as>"),
        r#"<rule id="107" level="3" frequency="4"><if_sid>100</if_sid><description>d</description></rule>"#.to_owned(),
        rule(108, 3, "<if_sid>100</if_sid><bogus>1</bogus>"),
        rule(109, 3, "<if_sid>100</if_sid><regex>(unclosed</regex>"),
        rule(110, 4, "<if_sid>100</if_sid><match>fine</match>"),
    ]));
    let text = messages(&problems).join("\n");
    for expected in [
        "ruleset/rules/0002-test.xml:1: warning: (7612): Rule ID '100' is duplicated. Only the first occurrence will be considered.",
        "No such description at rule '101'.",
        "(7617): Signature ID '999' was not found and will be ignored in the 'if_sid' option of rule '102'.",
        "(7619): Empty 'if_sid' value. Rule '102' will be ignored.",
        "(7617): Signature ID '102' was not found and will be ignored in the 'if_sid' option of rule '103'.",
        "(7618): Invalid 'if_sid' value: '100|1'. Rule '104' will be ignored.",
        "(7616): List 'etc/lists/missing' could not be loaded. Rule '105' will be ignored.",
        "Invalid decoder name: 'nope'.",
        "Invalid use of frequency/context options. Missing if_matched on rule '107'.",
        "Invalid option 'bogus' for rule '108'.",
        "(5107): Syntax error on tag 'regex' in rule 109",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert_eq!(sids(&ruleset), vec![1, 100, 110], "only the sound rules load");
}

#[test]
fn siblings_are_ordered_by_level_with_level_zero_first_and_overwrite_keeps_the_place() {
    let (_dir, ruleset, problems) = load(&group(&[
        rule(200, 0, "<decoded_as>t-app</decoded_as>"),
        rule(201, 3, "<if_sid>200</if_sid><action>login</action>"),
        rule(202, 9, "<if_sid>200</if_sid><action>login</action>"),
        rule(203, 0, "<if_sid>200</if_sid><action>noise</action>"),
        r#"<rule id="201" level="12" overwrite="yes"><if_sid>999</if_sid><action>login</action><match>admin</match><description>overwritten</description></rule>"#.to_owned(),
    ]));
    assert!(
        messages(&problems)
            .iter()
            .any(|m| m.contains("(7605): It is not possible to overwrite 'if_sid' value in rule '201'")),
        "{problems:?}"
    );
    let engine = Engine::new(ruleset, None, "vm").expect("engine");
    let session = vigil::engine::Session::new(engine.ruleset(), Limits::default());
    // 202 (level 9) comes before 201 (3 when placed): overwrite does not move it.
    assert_eq!(verdict(&engine, &session, "login from 10.0.0.1"), Some(202));
    assert_eq!(verdict(&engine, &session, "noise from 10.0.0.1"), Some(203), "logtest reports level-0 matches");
    let rules = &engine.ruleset().rules;
    let overwritten = rules.rule(rules.find(201).expect("201"));
    assert_eq!((overwritten.level, overwritten.description.as_str()), (12, "overwritten"));
}

#[test]
fn correlation_counts_per_source_and_forgets_what_the_event_memory_dropped() {
    let rules = group(&[
        rule(300, 0, "<decoded_as>t-app</decoded_as>"),
        rule(301, 5, "<if_sid>300</if_sid><action>fail</action>"),
        r#"<rule id="302" level="10" frequency="3" timeframe="120"><if_matched_sid>301</if_matched_sid><same_srcip /><description>burst from $(srcip)</description></rule>"#.to_owned(),
        rule(303, 0, "<if_sid>300</if_sid><action>quiet</action>"),
        r#"<rule id="304" level="7" timeframe="120"><if_matched_sid>303</if_matched_sid><description>never</description></rule>"#.to_owned(),
        rule(305, 8, "<if_sid>300</if_sid><list field=\"srcip\">etc/lists/bad-ips</list>"),
    ]);
    let (_dir, ruleset, problems) = load(&rules);
    assert!(problems.is_empty(), "{problems:?}");
    let engine = Engine::new(ruleset, None, "vm").expect("engine");
    let session = vigil::engine::Session::new(engine.ruleset(), Limits::default());
    assert_eq!(verdict(&engine, &session, "fail from 10.0.0.1"), Some(301));
    assert_eq!(verdict(&engine, &session, "fail from 10.0.0.2"), Some(301), "another source counts apart");
    assert_eq!(verdict(&engine, &session, "fail from 10.0.0.1"), Some(301));
    assert_eq!(verdict(&engine, &session, "fail from 10.0.0.1"), Some(302), "the third from one source");
    assert_eq!(verdict(&engine, &session, "fail from 10.0.0.1"), Some(301), "reset after firing");
    assert_eq!(verdict(&engine, &session, "quiet from 10.0.0.1"), Some(303));
    assert_eq!(verdict(&engine, &session, "quiet from 10.0.0.1"), Some(303), "level-0 events are never stored");
    assert_eq!(verdict(&engine, &session, "anything from 10.0.0.66"), Some(305), "CDB list lookup");

    // A memory of two events (Wazuh evicts at least ten at a time past it) forgets the first
    // failure from 10.0.0.1 once others arrive, so its third failure is not a burst.
    let small = vigil::engine::Session::new(engine.ruleset(), Limits { memory_size: 2, keys_per_rule: 2 });
    for ip in ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1"] {
        assert_eq!(verdict(&engine, &small, &format!("fail from {ip}")), Some(301));
    }
    assert_eq!(verdict(&engine, &small, "fail from 10.0.0.1"), Some(301), "the forgotten failure does not count");
    let large = vigil::engine::Session::new(engine.ruleset(), Limits::default());
    for ip in ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1"] {
        assert_eq!(verdict(&engine, &large, &format!("fail from {ip}")), Some(301));
    }
    assert_eq!(verdict(&engine, &large, "fail from 10.0.0.1"), Some(302), "with the default memory, all three count");
    assert!(small.rules.evicted_keys() >= 1, "keys past the per-rule limit are evicted and counted");
}
