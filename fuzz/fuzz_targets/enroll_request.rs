//! Enrollment request lines never panic the parser, with and without a password, and what
//! parses keeps authd's guarantees: a valid name, at most 128 valid groups.
#![no_main]

use vigil::enroll::Password;
use vigil::enroll::request::{Expect, parse};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let password = Password::new(b"s3cr3t".to_vec());
    for expect in [Expect::default(), Expect { password: Some(&password), allow_higher_versions: true }] {
        if let Ok(request) = parse(data, &expect) {
            assert!((2..=128).contains(&request.name.as_str().len()));
            assert!(request.groups.len() <= vigil::enroll::groups::MAX_GROUPS);
            if let Some(hash) = &request.key_hash {
                assert!(hash.len() <= 40);
            }
        }
    }
    // The answer parser an agent uses must not panic either.
    let _ = vigil::enroll::client::parse_answer(data);
});
