//! The agent-module decoders never panic on any payload, whatever queue it arrives on, and a
//! refusal is an error, not a crash; the state store stays usable.
#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use vigil::engine::Engine;
use vigil::engine::modules::Effects;
use vigil::store::Store;

static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let (ruleset, _) = vigil::ruleset::load(Path::new("/nonexistent"), &Default::default(), &Default::default());
    Engine::new(ruleset, None, "fuzz").expect("engine")
});

static STORE: LazyLock<(tempfile::TempDir, Store)> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("db")).expect("store");
    (dir, store)
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&queue, payload)) = data.split_first() else { return };
    let queue = b"3589defp"[usize::from(queue) % 8];
    let mut message = vec![queue, b':'];
    message.extend_from_slice(b"[001] (fuzz) any->syscollector:");
    message.extend_from_slice(payload);
    let Ok(mut txn) = STORE.1.state().begin() else { return };
    let mut effects = Effects::default();
    let _ = ENGINE.process_module(&mut txn, &mut effects, &message, 0);
    let _ = txn.commit();
});
