//! The full pipeline on one core (pre-decode → decode → rules → alert JSON bytes) with Wazuh's
//! stock ruleset from `../shared` (decoders, rules and lists as the default ossec.conf loads
//! them): (a) the generated 200k-line mix, (b) the correlation-heavy mix where a third of the
//! lines are authentication failures from a few hundred addresses. Events per second is
//! divan's item throughput. `vigil bench engine` gives the same figures with one and two
//! threads and the ruleset's memory.

use std::os::unix::fs::symlink;
use std::path::Path;

use divan::Bencher;
use vigil::bench::corpus;
use vigil::engine::Engine;
use vigil::ruleset::prefilter::Engine as Prefilter;

fn main() {
    divan::main();
}

/// A home of links to `../shared` (nothing copied), loaded with Wazuh's stock config.
fn engine() -> (tempfile::TempDir, Engine) {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/wazuh").canonicalize().expect("../shared/wazuh");
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("ruleset")).expect("mkdir");
    std::fs::create_dir_all(root.join("etc")).expect("mkdir");
    symlink(shared.join("ruleset/decoders"), root.join("ruleset/decoders")).expect("link");
    symlink(shared.join("ruleset/rules"), root.join("ruleset/rules")).expect("link");
    symlink(shared.join("ruleset/lists"), root.join("etc/lists")).expect("link");
    let config = vigil::config::load(&shared.join("etc/ossec-server.conf")).config;
    let (ruleset, _) = vigil::ruleset::load(root, &config.ruleset, &config.alerts);
    (dir, Engine::new(ruleset, Some(Prefilter::Hyperscan), "manager").expect("engine"))
}

fn run(bencher: Bencher, messages: &[Vec<u8>]) {
    let (_home, engine) = engine();
    let now = jiff::Timestamp::now().as_second();
    bencher
        .counter(divan::counter::ItemsCount::new(messages.len()))
        .bench_local(|| vigil::bench::pipeline(&engine, messages, 1, now));
}

#[divan::bench(sample_count = 10)]
fn pipeline_mix_200k(bencher: Bencher) {
    run(bencher, &corpus::mix(200_000, 2026));
}

#[divan::bench(sample_count = 10)]
fn pipeline_auth_heavy_200k(bencher: Bencher) {
    run(bencher, &corpus::auth_heavy(200_000, 2026));
}
