//! Bytes from the network never panic the framer, the wire parser, the decryptor or the payload
//! readers (control messages, keepalives, event forwarding); what opens has a payload within the
//! inflate cap.
#![no_main]

use std::sync::OnceLock;

use vigil::remote::control::{Payload, classify};
use vigil::remote::{event, keepalive};
use vigil::secmsg::{self, AgentKeys, Framer};
use vigil::store::Agent;

fn keys() -> &'static AgentKeys {
    static KEYS: OnceLock<AgentKeys> = OnceLock::new();
    KEYS.get_or_init(|| AgentKeys::derive("001", "agent1", &"a".repeat(64)))
}

fn agent() -> &'static Agent {
    static AGENT: OnceLock<Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        let id = vigil::store::AgentId::new(1).unwrap_or_else(|| unreachable!());
        let (Ok(name), Ok(ip), Ok(key)) = ("agent1".parse(), "fe80::/64".parse(), "a".repeat(64).parse()) else {
            unreachable!()
        };
        Agent::new(id, name, ip, key, 0)
    })
}

/// What the connection service does with a decrypted payload.
fn read_payload(payload: &[u8]) {
    match classify(payload) {
        Ok(Payload::Keepalive(text)) => {
            let _ = keepalive::parse(text);
        }
        Ok(Payload::Event(event)) => {
            if let Ok(forwarded) = event::forward(agent(), event) {
                assert!(forwarded.len() > event.len());
            }
        }
        _ => {}
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    read_payload(data);
    let mut framer = Framer::default();
    framer.push(data);
    while let Ok(Some(frame)) = framer.next_frame() {
        if let Ok(wire) = secmsg::split(frame) {
            if let Ok(opened) = secmsg::open(keys(), wire.cipher, wire.ciphertext) {
                assert!(opened.payload.len() <= secmsg::message::MAX_INFLATED);
                read_payload(&opened.payload);
            }
        }
    }
    // A datagram is one wire message without a frame.
    if let Ok(wire) = secmsg::split(data) {
        let _ = secmsg::open(keys(), wire.cipher, wire.ciphertext);
    }
});
