//! What other senders hand the agent service never panics it: syslog streams (lines, `<PRI>`
//! headers) and active-response queue messages; what parses keeps the queue's payload header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil::remote::{ar_queue, syslog};

fuzz_target!(|data: &[u8]| {
    let mut lines = syslog::Lines::default();
    for chunk in data.chunks(97) {
        if let Ok(complete) = lines.push(chunk) {
            for line in complete {
                let message = syslog::message([127, 0, 0, 1].into(), &line);
                assert!(message.starts_with(b"2:127.0.0.1:"));
            }
        }
    }
    if let Ok(parsed) = ar_queue::parse(data) {
        assert!(parsed.payload.starts_with(b"#!-"));
    }
});
