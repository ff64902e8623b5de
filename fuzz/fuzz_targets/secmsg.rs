//! Bytes from the network never panic the framer, the wire parser or the decryptor; what opens
//! has a payload within the inflate cap.
#![no_main]

use std::sync::OnceLock;

use vigil::secmsg::{self, AgentKeys, Framer};

fn keys() -> &'static AgentKeys {
    static KEYS: OnceLock<AgentKeys> = OnceLock::new();
    KEYS.get_or_init(|| AgentKeys::derive("001", "agent1", &"a".repeat(64)))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut framer = Framer::default();
    framer.push(data);
    while let Ok(Some(frame)) = framer.next_frame() {
        if let Ok(wire) = secmsg::split(frame) {
            if let Ok(opened) = secmsg::open(keys(), wire.cipher, wire.ciphertext) {
                assert!(opened.payload.len() <= secmsg::message::MAX_INFLATED);
            }
        }
    }
    // A datagram is one wire message without a frame.
    if let Ok(wire) = secmsg::split(data) {
        let _ = secmsg::open(keys(), wire.cipher, wire.ciphertext);
    }
});
