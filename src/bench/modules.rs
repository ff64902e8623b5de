//! `vigil bench modules`: FIM events and inventory deltas decoded into the state store (one
//! transaction per batch of 256, as a core's read batch), and a 5,000-package inventory
//! snapshot stored in one batch.

use std::time::{Duration, Instant};

use crate::engine::modules::Effects;
use crate::home::Home;
use crate::store::{AgentIp, NewAgent, Store};

/// Messages per transaction, as a data-plane core reads them.
const BATCH: usize = 256;

/// What the run measured.
#[derive(Debug, Clone, Copy)]
pub struct ModulesRun {
    /// FIM events and the time they took.
    pub fim: (usize, Duration),
    /// Inventory deltas and the time they took.
    pub inventory: (usize, Duration),
    /// Packages in the snapshot and the time it took.
    pub snapshot: (usize, Duration),
}

fn rate((n, d): (usize, Duration)) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

impl ModulesRun {
    /// FIM events per second.
    pub fn fim_per_second(&self) -> f64 {
        rate(self.fim)
    }

    /// Inventory deltas per second.
    pub fn inventory_per_second(&self) -> f64 {
        rate(self.inventory)
    }
}

fn fim(i: usize) -> String {
    format!(
        r#"8:[001] (bench) any->syscheck:{{"type":"event","data":{{"path":"/srv/data/file{i}","mode":"realtime","type":"added","timestamp":1700000000,"attributes":{{"type":"file","size":{i},"perm":"rw-r--r--","uid":"0","gid":"0","user_name":"root","group_name":"root","inode":{i},"mtime":1700000000,"hash_md5":"d41d8cd98f00b204e9800998ecf8427e","hash_sha1":"da39a3ee5e6b4b0d3255bfef95601890afd80709","hash_sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","checksum":"c{i}"}}}}}}"#
    )
}

fn package(i: usize, delta: bool) -> String {
    let row = format!(
        r#""name":"package{i}","version":"1.{i}","architecture":"amd64","format":"deb","location":"","vendor":"Debian","size":{i},"description":"package number {i}","item_id":"{i:08x}","checksum":"c{i}","scan_time":"2026/11/28 10:00:00""#
    );
    if delta {
        format!(
            r#"d:[001] (bench) any->syscollector:{{"type":"dbsync_packages","operation":"INSERTED","data":{{{row}}}}}"#
        )
    } else {
        format!(
            r#"5:[001] (bench) any->syscollector:{{"component":"syscollector_packages","type":"state","data":{{"index":"{i:08x}","timestamp":"","attributes":{{{row}}}}}}}"#
        )
    }
}

/// Runs `messages` through the module decoders, `per_batch` to a transaction.
fn feed(
    engine: &crate::engine::Engine,
    store: &Store,
    messages: &[String],
    per_batch: usize,
) -> anyhow::Result<Duration> {
    let now = jiff::Timestamp::now().as_second();
    let started = Instant::now();
    for chunk in messages.chunks(per_batch) {
        let mut txn = store.state().begin()?;
        let mut effects = Effects::default();
        for m in chunk {
            engine.process_module(&mut txn, &mut effects, m.as_bytes(), now)?;
        }
        txn.commit()?;
    }
    Ok(started.elapsed())
}

/// Runs the benchmark on a new home in `root` with `messages` messages per kind.
pub fn run(root: &std::path::Path, messages: usize) -> anyhow::Result<ModulesRun> {
    let home = Home::new(root);
    home.prepare(crate::server::now())?;
    let loaded = crate::config::load(&home.config_file());
    let (engine, _) = crate::engine::live::compile(home.root(), &loaded.config)?;
    let store = home.store()?;
    store.add_agent(NewAgent { name: "bench".parse()?, ip: AgentIp::any(), groups: Vec::new(), registered_at: 0 })?;
    let fims: Vec<String> = (0..messages).map(fim).collect();
    let deltas: Vec<String> = (0..messages).map(|i| package(i, true)).collect();
    let snapshot: Vec<String> = (0..5_000).map(|i| package(i + messages, false)).collect();
    let fim_time = feed(&engine, &store, &fims, BATCH)?;
    let inventory_time = feed(&engine, &store, &deltas, BATCH)?;
    let snapshot_time = feed(&engine, &store, &snapshot, snapshot.len())?;
    Ok(ModulesRun {
        fim: (messages, fim_time),
        inventory: (messages, inventory_time),
        snapshot: (snapshot.len(), snapshot_time),
    })
}
