//! Each node's LMDB is a mirror of the registry, fed by a KV watch: the agent connection service
//! reads keys from LMDB as before and never waits on the network. Records are applied in
//! batches (one store transaction for whatever arrived together), in the order NATS stored them.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::kv::{self, Entry, Operation};
use futures_util::StreamExt as _;
use tracing::{error, info, warn};

use super::bounded;
use super::connect::{next_or_reconnect, watch};
use super::record::Record;
use super::registry::{Registry, agent_id_of};
use super::stats::Stats;
use crate::store::{Agent, AgentId, Store, StoreError, Writer};

/// Most records applied in one transaction.
const BATCH: usize = 512;
/// Pause before watching again after the watch failed.
const REWATCH: Duration = Duration::from_secs(1);
/// Silence from a new watch that means the registry holds no agent.
const QUIET: Duration = Duration::from_secs(2);

/// Keeps `store` following the registry for good; `changed` runs after each batch that changed it.
/// Once caught up the first time, the agents this node has that the registry never knew (a
/// single node joining a cluster) are added to it.
pub async fn run(
    registry: Registry,
    kv: kv::Store,
    store: Store,
    changed: Arc<dyn Fn() + Send + Sync>,
    mut reconnects: tokio::sync::watch::Receiver<u64>,
    stats: Arc<Stats>,
) {
    let mut last: Option<u64> = None;
    // Ids the registry holds or held, until the first catch-up.
    let mut known = Some(HashSet::new());
    loop {
        let watch = watch(&kv, "agent.>", last, "the agent registry", &mut reconnects, &stats).await;
        let mut batches = watch.ready_chunks(BATCH);
        loop {
            // An empty registry sends nothing: a quiet first moment means caught up.
            let next = match &known {
                Some(_) => tokio::time::timeout(QUIET, next_or_reconnect(&mut batches, &mut reconnects)).await.ok(),
                None => Some(next_or_reconnect(&mut batches, &mut reconnects).await),
            };
            let Some(batch) = next else {
                // Quiet, and nothing in the bucket at all: an empty registry. Otherwise (a
                // watch stalled mid-way) wait for the entry that says the watch caught up.
                let empty = kv.status().await.is_ok_and(|status| status.values() == 0);
                if empty && let Some(known) = known.take() {
                    caught_up(&registry, &store, &known, &stats).await;
                }
                continue;
            };
            let Some(batch) = batch else { break };
            let mut entries = Vec::with_capacity(batch.len());
            let mut failed = None;
            for item in batch {
                match item {
                    Ok(entry) => entries.push(entry),
                    Err(e) => failed = Some(e),
                }
            }
            if let Some(known) = &mut known {
                known.extend(entries.iter().filter_map(|e| agent_id_of(&e.key)));
            }
            if let Some(entry) = entries.last() {
                last = Some(entry.revision);
            }
            apply_until_stored(&registry, &store, &entries, &stats).await;
            if !entries.is_empty() {
                changed();
            }
            if entries.last().is_some_and(|e| e.seen_current)
                && let Some(known) = known.take()
            {
                caught_up(&registry, &store, &known, &stats).await;
            }
            if let Some(e) = failed {
                stats.watch_errors.inc();
                warn!(stage = "cluster", "agent registry watch failed: {e}; watching again");
                break;
            }
        }
        tokio::time::sleep(REWATCH).await;
    }
}

/// The mirror has caught up with the registry: agents of this node the registry never held
/// are added to it (they keep their ids, names and keys); one that conflicts stays on this node
/// only, logged.
async fn caught_up(registry: &Registry, store: &Store, known: &HashSet<AgentId>, stats: &Stats) {
    let agents = store.agents().unwrap_or_default();
    info!(stage = "cluster", agents = agents.len(), "Agent registry mirrored");
    stats.set_synced();
    let unknown: Vec<Agent> = agents.into_iter().filter(|a| !known.contains(&a.id)).collect();
    let Some(largest) = unknown.iter().map(|a| a.id).max() else { return };
    info!(stage = "cluster", count = unknown.len(), "Agents of this node not in the registry: adding them");
    if let Err(e) = bounded(registry.reserve_id(largest)).await {
        return error!(stage = "cluster", "cannot add this node's agents to the registry: {e}");
    }
    for agent in unknown {
        match bounded(registry.enroll(&agent, &[])).await {
            Ok(()) => stats.writes.inc(),
            Err(e) => error!(
                stage = "cluster",
                agent = %agent.id,
                name = %agent.name,
                "agent not added to the registry, it stays on this node only: {e}"
            ),
        }
    }
}

/// Applies `entries`, retrying while the store itself fails (disk full): a record skipped would
/// leave this node without an agent the others know.
async fn apply_until_stored(registry: &Registry, store: &Store, entries: &[Entry], stats: &Stats) {
    if let Some(entry) = entries.last() {
        let stored_ms = i64::try_from(entry.created.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        let delay = u64::try_from(crate::server::now_ms().saturating_sub(stored_ms)).unwrap_or(0);
        stats.watch_delay_ms.store(delay, std::sync::atomic::Ordering::Relaxed);
    }
    loop {
        match store.write(|w| entries.iter().try_for_each(|e| apply(w, registry, e, stats))) {
            Ok(()) => {
                stats.applied.add(entries.len() as u64);
                return;
            }
            Err(e) => {
                error!(stage = "cluster", "cannot store the agent registry's changes: {e}; retrying");
                tokio::time::sleep(REWATCH).await;
            }
        }
    }
}

fn apply(w: &mut Writer<'_>, registry: &Registry, entry: &Entry, stats: &Stats) -> Result<(), StoreError> {
    let Some(id) = agent_id_of(&entry.key) else {
        stats.corrupt.inc();
        warn!(stage = "cluster", key = %entry.key, "registry key names no agent; ignored");
        return Ok(());
    };
    if entry.operation != Operation::Put {
        if w.agent(id)?.is_some() {
            w.remove_agent(id, true)?;
        }
        return Ok(());
    }
    let record = match registry.open(&entry.key, &entry.value) {
        Ok(record) if record.id == id => record,
        Ok(record) => {
            stats.corrupt.inc();
            warn!(stage = "cluster", key = %entry.key, other = %record.id, "registry record names another agent; ignored");
            return Ok(());
        }
        Err(e) => {
            stats.corrupt.inc();
            warn!(stage = "cluster", key = %entry.key, "registry record ignored: {e}");
            return Ok(());
        }
    };
    adopt(w, &record)
}

/// Makes the local agent `record.id` have `record`'s identity.
fn adopt(w: &mut Writer<'_>, record: &Record) -> Result<(), StoreError> {
    let existing = w.agent(record.id)?;
    if existing.as_ref().is_some_and(|a| record.matches(a)) {
        return Ok(());
    }
    for group in &record.groups {
        w.add_group(group, record.registered_at)?;
    }
    // A record exists only once its name was claimed: a local holder of the name is an agent
    // the cluster has replaced.
    if let Some(other) = w.agent_by_name(record.name.as_str())?
        && other.id != record.id
    {
        warn!(stage = "cluster", agent = %other.id, name = %other.name, by = %record.id, "Agent replaced: the registry gives its name to another agent");
        w.remove_agent(other.id, true)?;
    }
    match existing {
        Some(local) => {
            if local.name != record.name || local.key != record.key {
                warn!(
                    stage = "cluster",
                    agent = %record.id,
                    name = %local.name,
                    by = %record.name,
                    "Agent replaced: the registry holds another agent under its id; it must enroll again"
                );
            }
            w.update(record.id, |a| record.apply_to(a))?;
        }
        None => match w.insert(&record.to_agent()) {
            Ok(()) => w.raise_id_counter(record.id.get())?,
            // Removed here with its `!` line kept, yet in the registry: the registry's delete
            // did not reach NATS. The line wins locally until the record is deleted again.
            Err(StoreError::DuplicateId(id)) => {
                warn!(stage = "cluster", agent = %id, "registry agent removed here; ignored")
            }
            Err(e) => return Err(e),
        },
    }
    Ok(())
}
