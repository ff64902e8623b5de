//! Enrollment conformance against `../shared/protocol/vectors.json`, made with a Wazuh-maintained
//! agent implementation: every request line parses, and every agent's `K:` hash is reproduced.

use vigil::enroll::Password;
use vigil::enroll::client::{Answer, parse_answer};
use vigil::enroll::policy::key_hash;
use vigil::enroll::request::{Expect, IpChoice, parse};
use vigil::store::{KeyEntry, keys};

fn vectors() -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/protocol/vectors.json");
    let text = std::fs::read_to_string(path).expect("../shared/protocol/vectors.json");
    serde_json::from_str(&text).expect("vectors are JSON")
}

#[test]
fn every_request_line_parses() {
    let vectors = vectors();
    let lines = vectors["enrollment_requests"].as_array().expect("enrollment_requests");
    assert!(lines.len() >= 4);
    let password = Password::new(b"s3cr3t".to_vec());
    for line in lines {
        let line = line.as_str().expect("a string").as_bytes();
        let body = line.strip_suffix(b"\n").expect("agents end requests with LF");
        let with_password = body.starts_with(b"OSSEC PASS: ");
        let expect = Expect { password: with_password.then_some(&password), allow_higher_versions: false };
        let request = parse(body, &expect).unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(body)));
        let text = String::from_utf8_lossy(body);
        assert!(text.contains(&format!("A:'{}'", request.name)), "{text}");
        if let Some(version) = &request.version {
            assert!(text.contains(&format!("V:'{version}'")));
        }
        for group in &request.groups {
            assert!(text.contains(group.as_str()));
        }
        match &request.ip {
            IpChoice::Source => assert!(text.contains("IP:'src'")),
            IpChoice::Given(ip) => assert!(text.contains(&format!("IP:'{ip}'"))),
            IpChoice::Unspecified => assert!(!text.contains("IP:")),
        }
        assert_eq!(request.key_hash.is_some(), text.contains("K:'"));
    }
}

#[test]
fn key_hashes_are_reproduced() {
    let vectors = vectors();
    let agents = vectors["agents"].as_array().expect("agents");
    assert!(!agents.is_empty());
    for agent in agents {
        let line = agent["client_keys_line"].as_str().expect("client_keys_line");
        let entries = keys::parse(&format!("{line}\n")).expect("a valid client.keys line");
        let Some(KeyEntry::Active { id, name, key, .. }) = entries.into_iter().next() else {
            panic!("{line} is not an active entry");
        };
        assert_eq!(key_hash(id, &name, &key), agent["enroll_sha1_K"].as_str().expect("enroll_sha1_K"), "{line}");
    }
}

#[test]
fn example_answers_read_as_agents_read_them() {
    let vectors = vectors();
    for example in vectors["enrollment_response_examples"].as_array().expect("examples") {
        let text = example.as_str().expect("a string").replace("<64 hex>", &"0f".repeat(32));
        match parse_answer(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}")) {
            Answer::Key(entry) => assert_eq!(entry.to_line().trim_end(), &text["OSSEC K:'".len()..text.len() - 1]),
            Answer::Refused(refusal) => {
                assert!(refusal.starts_with("ERROR: ") && refusal.ends_with(". Unable to add agent"))
            }
        }
    }
}
