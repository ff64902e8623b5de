//! Crash safety: `kill -9` during a large write leaves a readable store holding either the whole
//! write or none of it, and the store stays writable.

mod common;

use std::process::Stdio;
use std::time::Instant;

use common::{agents_json, ok, scratch, vigil};

const AGENTS: usize = 50_000;

fn keys_file() -> String {
    (1..=AGENTS).map(|i| format!("{i:03} crash-{i} any {i:064x}\n")).collect()
}

#[test]
fn kill_during_import_leaves_all_or_nothing() {
    let s = scratch();
    let file = s.dir.path().join("big.keys");
    std::fs::write(&file, keys_file()).expect("write keys");

    // How long a full import takes here, to aim the kills inside it.
    let probe = scratch();
    ok(&probe.home, &["agents", "list"]);
    let start = Instant::now();
    ok(&probe.home, &["agents", "import-keys", file.to_str().expect("utf-8")]);
    let full = start.elapsed();
    assert_eq!(agents_json(&probe.home).len(), AGENTS);

    ok(&s.home, &["agents", "list"]);
    let mut interrupted = 0;
    for step in 1..=8u32 {
        let mut child = vigil()
            .args(["agents", "import-keys"])
            .arg(&file)
            .arg("--home")
            .arg(&s.home)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn import");
        std::thread::sleep(full.mul_f64(f64::from(step) / 10.0));
        let _ = child.kill();
        let status = child.wait().expect("wait");
        let count = agents_json(&s.home).len();
        assert!(count == 0 || count == AGENTS, "a partial import is visible: {count} agents");
        if count == AGENTS {
            // The import committed before the kill; nothing to interrupt any more.
            assert!(status.success() || status.code().is_none());
            break;
        }
        interrupted += 1;
    }
    eprintln!("{interrupted} kills landed inside a {full:?} import");
    assert!(interrupted > 0, "no kill landed inside the write (full import took {full:?})");
    // The store is still writable after the kills.
    ok(&s.home, &["agents", "add", "after-crash"]);
    assert!(!agents_json(&s.home).is_empty());
}
