//! Every answer Wazuh's original C engine gave in `osregex_golden.jsonl` (OS_Regex: match, end
//! offset, captures; OS_Match: match) must come out the same.

use std::path::Path;

use vigil::ruleset::regex::{OsMatch, OsRegex};

#[derive(serde::Deserialize)]
struct Case {
    engine: String,
    pattern: String,
    input: String,
    #[serde(rename = "match")]
    matched: bool,
    end_offset: Option<isize>,
    captures: Option<Vec<String>>,
}

#[test]
fn golden_results_reproduce_exactly() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/wazuh/regex/osregex_golden.jsonl");
    let text = std::fs::read_to_string(&path).expect("golden file");
    let (mut total, mut failures) = (0, Vec::new());
    for (n, line) in text.lines().enumerate() {
        let case: Case = serde_json::from_str(line).expect("golden line");
        total += 1;
        let got = match case.engine.as_str() {
            "osregex" => match OsRegex::new(&case.pattern) {
                Ok(re) => re.find(case.input.as_bytes()).map(|m| {
                    let caps = m.captures.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>();
                    (m.end, caps)
                }),
                Err(e) => panic!("line {}: {:?} does not compile: {e}", n + 1, case.pattern),
            },
            "osmatch" => {
                let m = OsMatch::new(&case.pattern).expect("osmatch compiles");
                m.is_match(case.input.as_bytes()).then(|| (0, Vec::new()))
            }
            other => panic!("unknown engine {other}"),
        };
        let ok = match (&got, case.matched) {
            (None, false) => true,
            (Some((end, caps)), true) if case.engine == "osregex" => {
                Some(*end) == case.end_offset && Some(caps) == case.captures.as_ref()
            }
            (Some(_), true) => true,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "line {}: {} {:?} on {:?}: expected match={} end={:?} captures={:?}, got {:?}",
                n + 1,
                case.engine,
                case.pattern,
                case.input.chars().take(120).collect::<String>(),
                case.matched,
                case.end_offset,
                case.captures,
                got
            ));
        }
    }
    println!("{} of {total} golden results reproduced", total - failures.len());
    assert!(
        failures.is_empty(),
        "{} mismatches, first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(15)].join("\n")
    );
}
