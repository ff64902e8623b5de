//! The secure message format against `../shared/protocol/vectors.json`, made with a
//! Wazuh-maintained agent implementation: every message decrypts to its composed plaintext,
//! every bad one is refused, and what vigil seals opens to the same plaintext.

use vigil::secmsg::{self, AgentKeys, Cipher, Counters, Framer, SecError};

fn vectors() -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/protocol/vectors.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("vectors.json")).expect("JSON")
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex")).collect()
}

/// The id and keys of a client.keys line, and its 47-byte derived key.
fn keys_of(line: &str) -> (String, AgentKeys, [u8; 47]) {
    let fields: Vec<&str> = line.split(' ').collect();
    let derived = secmsg::key::derived_key(fields[0], fields[1], fields[3]);
    (fields[0].to_owned(), AgentKeys::derive(fields[0], fields[1], fields[3]), derived)
}

/// The plaintext a message opened to, as the vectors compose it: checksum, random, counters,
/// payload.
fn composed(opened: &secmsg::Opened) -> String {
    let header = format!("{:05}{:010}:{:04}:", opened.random, opened.counters.global, opened.counters.local);
    let body = [header.as_bytes(), &opened.payload].concat();
    let checksum = secmsg::key::hex_md5(&body);
    format!("{}{}", String::from_utf8_lossy(&checksum), String::from_utf8_lossy(&body))
}

#[test]
fn every_message_decrypts_to_its_composed_plaintext() {
    let vectors = vectors();
    let mut opened_count = 0;
    for agent in vectors["agents"].as_array().expect("agents") {
        let (id, keys, derived) = keys_of(agent["client_keys_line"].as_str().expect("line"));
        assert_eq!(String::from_utf8_lossy(&derived), agent["derived_key_47"].as_str().expect("derived key"));
        for message in agent["messages"].as_array().expect("messages") {
            let wire = hex(message["wire_hex"].as_str().expect("wire_hex"));
            let mut framer = Framer::default();
            framer.push(&hex(message["tcp_frame_hex"].as_str().expect("tcp_frame_hex")));
            assert_eq!(framer.next_frame().ok().flatten(), Some(wire.as_slice()));
            let parts = secmsg::split(&wire).expect("wire layout");
            let to_agent = message["direction"].as_str() == Some("manager->agent");
            assert_eq!(parts.agent_id, if to_agent { None } else { Some(id.as_str()) });
            let expected = if agent["cypher"] == "aes" { Cipher::Aes } else { Cipher::Blowfish };
            assert_eq!(parts.cipher, expected);
            let opened = secmsg::open(&keys, parts.cipher, parts.ciphertext).expect("decrypts");
            assert_eq!(opened.payload, message["payload"].as_str().expect("payload").as_bytes());
            assert_eq!(composed(&opened), message["composed_plaintext"].as_str().expect("composed"));
            opened_count += 1;
        }
    }
    assert!(opened_count >= 30, "{opened_count} messages");
}

#[test]
fn every_bad_message_is_refused() {
    let vectors = vectors();
    for case in vectors["negative"].as_array().expect("negative") {
        let name = case["case"].as_str().expect("case");
        if let Some(frame) = case["tcp_frame_hex"].as_str() {
            let mut framer = Framer::default();
            framer.push(&hex(frame));
            assert!(matches!(framer.next_frame(), Err(SecError::FrameTooLarge(_))), "{name}");
            continue;
        }
        let (id, keys, _) = keys_of(case["client_keys_line"].as_str().expect("line"));
        let wire = hex(case["wire_hex"].as_str().expect("wire_hex"));
        let refused = secmsg::split(&wire).and_then(|parts| {
            assert_eq!(parts.agent_id, Some(id.as_str()), "{name}");
            secmsg::open(&keys, parts.cipher, parts.ciphertext)
        });
        assert!(refused.is_err(), "{name} was accepted");
    }
}

#[test]
fn sealed_messages_open_to_the_same_plaintext() {
    let vectors = vectors();
    for agent in vectors["agents"].as_array().expect("agents") {
        let (_, keys, _) = keys_of(agent["client_keys_line"].as_str().expect("line"));
        for message in agent["messages"].as_array().expect("messages") {
            let payload = message["payload"].as_str().expect("payload").as_bytes();
            for cipher in [Cipher::Aes, Cipher::Blowfish] {
                let counters = Counters { global: 42, local: 9997 };
                let sealed = secmsg::seal(&keys, cipher, counters, 65535, payload).expect("seals");
                let wire = secmsg::compose(cipher, &sealed, None);
                let parts = secmsg::split(&wire).expect("layout");
                let opened = secmsg::open(&keys, parts.cipher, parts.ciphertext).expect("opens");
                assert_eq!((opened.payload.as_slice(), opened.counters, opened.random), (payload, counters, 65535));
            }
        }
    }
}
