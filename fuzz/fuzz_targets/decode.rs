//! Pre-decoding and decoding never panic on any bytes, with the stock Wazuh decoders loaded.
#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use vigil::config::{Dir, Ruleset};
use vigil::engine::Engine;
use vigil::ruleset::prefilter::Engine as Prefilter;

static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/wazuh");
    let dir = |p: &str| Dir { path: shared.join(p).to_string_lossy().into_owned(), pattern: ".xml$".into() };
    let config = Ruleset { decoder_dirs: vec![dir("ruleset/decoders"), dir("ruleset/testing/ruleset")], ..Ruleset::default() };
    let (ruleset, _) = vigil::ruleset::load(Path::new("/"), &config, &Default::default());
    Engine::new(ruleset, Some(Prefilter::AhoCorasick), "fuzz").expect("engine")
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // As a queue message, and as a log line behind a syslog-style location.
    let _ = ENGINE.decode(data, 0);
    let mut framed = b"1:stdin:".to_vec();
    framed.extend_from_slice(data);
    let _ = ENGINE.decode(&framed, 0);
});
