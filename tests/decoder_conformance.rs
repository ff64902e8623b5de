//! Conformance: every log of every shared ini test file gets the decoder Wazuh gives it — the
//! one the ini expects, and the one the real analysisd 4.14.7 reported (golden outputs) — and the
//! alert's `data` object and pre-decoded header equal the golden output.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::ruleset_home::{read_ini, shared, wazuh_home};
use vigil::engine::decode::{NoHooks, decode};
use vigil::engine::event::Event;
use vigil::engine::predecode::predecode;

/// Known failures: (ini file, section, log key) with the reason. Keep it empty.
const KNOWN_FAILURES: &[(&str, &str, &str, &str)] = &[];

fn golden() -> HashMap<(String, String, String), serde_json::Value> {
    let text = std::fs::read_to_string(shared().join("golden/logtest-shared.jsonl")).expect("golden");
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("golden line"))
        .map(|v| {
            let key = (
                v["file"].as_str().unwrap_or_default().to_owned(),
                v["section"].as_str().unwrap_or_default().to_owned(),
                v["key"].as_str().unwrap_or_default().to_owned(),
            );
            (key, v)
        })
        .collect()
}

#[test]
fn every_ini_log_gets_wazuhs_decoder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = wazuh_home(dir.path());
    let (ruleset, problems) = vigil::ruleset::load(dir.path(), &config, &Default::default());
    let errors: Vec<String> = problems.iter().filter(|p| !p.warning).map(ToString::to_string).collect();
    assert!(errors.iter().all(|e| !e.contains("decoders/")), "decoder load errors: {errors:#?}");
    let golden = golden();

    let mut per_file: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut checked_against_golden = 0;
    let mut failures = Vec::new();
    let mut ini_files: Vec<_> =
        std::fs::read_dir(shared().join("ruleset/testing/tests")).expect("tests").flatten().map(|e| e.path()).collect();
    ini_files.sort();
    for path in ini_files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.contains("_geoip") {
            continue; // Wazuh builds without GeoIP; these run only with --geoip.
        }
        for case in read_ini(&path) {
            let raw = format!("1:stdin:{}", case.log);
            let pre = predecode(raw.as_bytes(), "vm").expect("logtest input predecodes");
            let mut event = Event::new(pre);
            decode(&ruleset.decoders, &mut event, &NoHooks);
            let got = event.decoder.map(|d| ruleset.decoders.get(d).name.to_string()).unwrap_or_default();
            let expected_by_golden = golden
                .get(&(case.file.clone(), case.section.clone(), case.key.clone()))
                .and_then(|g| g["outputs"].as_array().and_then(|o| o.last()).cloned())
                .map(|o| o["output"]["decoder"]["name"].as_str().unwrap_or_default().to_owned());
            let mut ok = true;
            if case.pass && got != case.decoder {
                ok = false;
            }
            if let Some(g) = &expected_by_golden {
                checked_against_golden += 1;
                if *g != got {
                    ok = false;
                }
            }
            let entry = per_file.entry(name.clone()).or_default();
            entry.0 += 1;
            let known = KNOWN_FAILURES.iter().any(|k| k.0 == case.file && k.1 == case.section && k.2 == case.key);
            if ok {
                entry.1 += 1;
            } else if !known {
                failures.push(format!(
                    "{} [{}] {}: got '{got}', ini expects '{}' ({}), golden '{}'\n    {}",
                    case.file,
                    case.section,
                    case.key,
                    case.decoder,
                    if case.pass { "pass" } else { "fail" },
                    expected_by_golden.unwrap_or_else(|| "-".into()),
                    case.log.chars().take(160).collect::<String>()
                ));
            }
        }
    }
    let (total, passed) = per_file.values().fold((0, 0), |a, v| (a.0 + v.0, a.1 + v.1));
    for (file, (n, ok)) in &per_file {
        println!("{file}: {ok}/{n}");
    }
    println!(
        "decoder conformance: {passed} passed, {} failed (of {total} logs; {checked_against_golden} also against golden output)",
        total - passed
    );
    assert!(checked_against_golden > 1300, "the golden outputs were not matched to the ini cases");
    assert!(failures.is_empty(), "{} logs got the wrong decoder:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn extracted_fields_and_header_match_wazuh() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = wazuh_home(dir.path());
    let (ruleset, _) = vigil::ruleset::load(dir.path(), &config, &Default::default());
    let text = std::fs::read_to_string(shared().join("golden/logtest-shared.jsonl")).expect("golden");
    let (mut checked, mut failures) = (0, Vec::new());
    for line in text.lines() {
        let row: serde_json::Value = serde_json::from_str(line).expect("golden line");
        let (Some(log), Some(output)) = (
            row["lines"].as_array().and_then(|l| l.last()).and_then(|l| l.as_str()),
            row["outputs"].as_array().and_then(|o| o.last()),
        ) else {
            continue;
        };
        let output = &output["output"];
        let pre = predecode(format!("1:stdin:{log}").as_bytes(), "vm").expect("predecode");
        let mut event = Event::new(pre);
        decode(&ruleset.decoders, &mut event, &NoHooks);
        checked += 1;

        // The whole `data` object as the alert builder prints it: nesting, first-wins and
        // embedded arrays included.
        let want = output["data"].clone();
        let got: serde_json::Value = vigil::engine::alert::data::data_json(&event)
            .map(|text| serde_json::from_str(&text).expect("data is JSON"))
            .unwrap_or(serde_json::Value::Null);
        let pre = &event.pre;
        let shown = vigil::engine::predecode::shown_hostname(&pre.full_log);
        if pre.header_hostname && shown.is_some() {
            assert_eq!(shown, Some(pre.hostname.as_str()), "pre-decoded hostname for {log}");
        }
        let header = serde_json::json!({
            "program_name": pre.program_name,
            "timestamp": pre.timestamp,
            "hostname": shown,
        });
        let want_header = serde_json::json!({
            "program_name": output["predecoder"]["program_name"],
            "timestamp": output["predecoder"]["timestamp"],
            "hostname": output["predecoder"]["hostname"],
        });
        if want != got || header != want_header {
            failures.push(format!(
                "{} [{}]: {}data want {want} got {got}\n    {}",
                row["file"].as_str().unwrap_or_default(),
                row["section"].as_str().unwrap_or_default(),
                if header != want_header { format!("header want {want_header} got {header}; ") } else { String::new() },
                log.chars().take(140).collect::<String>()
            ));
        }
    }
    println!("fields and header: {} passed, {} failed (of {checked})", checked - failures.len(), failures.len());
    assert!(
        failures.is_empty(),
        "{} events decoded differently:\n{}",
        failures.len(),
        failures[..failures.len().min(25)].join("\n")
    );
}
