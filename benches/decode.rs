//! Decoding throughput on one core (pre-decode + decoder tree, stock Wazuh decoders loaded from
//! `../shared`): (a) the generated 200k-line mix, (b) the ini test-suite logs. Events per second
//! is divan's item throughput. Run with `cargo bench --bench decode`.

use std::path::Path;

use divan::Bencher;
use vigil::bench::corpus;
use vigil::config::{Dir, Ruleset as RulesetConfig};
use vigil::engine::Engine;
use vigil::ruleset::prefilter::Engine as Prefilter;

fn main() {
    divan::main();
}

fn shared() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/wazuh").canonicalize().expect("../shared/wazuh")
}

/// The stock decoders plus the test-suite decoders, by absolute path.
fn engine(prefilter: Option<Prefilter>) -> Engine {
    let shared = shared();
    let dir = |p: &Path, pattern: &str| Dir { path: p.to_string_lossy().into_owned(), pattern: pattern.into() };
    let config = RulesetConfig {
        decoder_dirs: vec![
            dir(&shared.join("ruleset/decoders"), ".xml$"),
            dir(&shared.join("ruleset/testing/ruleset"), "_decoders.xml$"),
        ],
        ..RulesetConfig::default()
    };
    let (ruleset, _) = vigil::ruleset::load(Path::new("/"), &config, &Default::default());
    Engine::new(ruleset, prefilter, "manager").expect("engine")
}

fn ini_logs() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut files: Vec<_> =
        std::fs::read_dir(shared().join("ruleset/testing/tests")).expect("tests").flatten().map(|e| e.path()).collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        for line in text.lines() {
            if let Some((key, value)) = line.split_once('=')
                && key.trim_start().starts_with("log ")
            {
                out.push(format!("1:stdin:{}", value.trim()).into_bytes());
            }
        }
    }
    out
}

const ENGINES: &[&str] = &["hyperscan", "aho-corasick", "none"];

fn pick(name: &str) -> Option<Prefilter> {
    match name {
        "hyperscan" => Some(Prefilter::Hyperscan),
        "aho-corasick" => Some(Prefilter::AhoCorasick),
        _ => None,
    }
}

#[divan::bench(args = ENGINES, sample_count = 10)]
fn generated_mix_200k(bencher: Bencher, prefilter: &str) {
    let engine = engine(pick(prefilter));
    let messages = corpus::mix(200_000, 2026);
    bencher
        .counter(divan::counter::ItemsCount::new(messages.len()))
        .bench_local(|| vigil::bench::decode_all(&engine, &messages));
}

#[divan::bench(args = ENGINES, sample_count = 10)]
fn ini_suite_logs(bencher: Bencher, prefilter: &str) {
    let engine = engine(pick(prefilter));
    let messages = ini_logs();
    bencher
        .counter(divan::counter::ItemsCount::new(messages.len()))
        .bench_local(|| vigil::bench::decode_all(&engine, &messages));
}
