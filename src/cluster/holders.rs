//! Which node holds each agent's connection, in the `connections` bucket: `conn.<id>` names the
//! node and when it saw the agent connect. A node writes only on transitions (an agent connects
//! or goes), never per keepalive. When two nodes claim one agent (a node cut off from NATS kept
//! a dead connection), **the later connection wins**: a claim older than the one stored is not
//! written. Every node follows the bucket in memory, so finding an agent's node costs no round
//! trip, and the lease holder deletes the claims of nodes that are gone.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_nats::jetstream::kv::{self, Operation};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::cas::{live, put_at};
use super::connect::{next_or_reconnect, watch};
use super::members::View;
use super::stats::Stats;
use crate::remote::commands::Commands;
use crate::store::{AgentId, Os};

/// How often this node compares its connections with what it published.
const PUBLISH_EVERY: Duration = Duration::from_secs(1);

/// A node's claim on an agent's connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The node's name.
    pub node: String,
    /// When the agent connected to it, Unix milliseconds.
    pub since: i64,
    /// The agent's version, as it announced it (`Wazuh v4.14.7`).
    #[serde(default)]
    pub version: Option<String>,
    /// Its operating system, as its keepalive said.
    #[serde(default, skip_serializing_if = "Os::is_empty")]
    pub os: Os,
}

fn key(id: AgentId) -> String {
    format!("conn.{}", id.get())
}

/// Every claim, as last seen, with its revision.
#[derive(Debug, Default)]
pub struct Holders {
    by_agent: RwLock<HashMap<AgentId, (Holder, u64)>>,
}

impl Holders {
    /// The node holding `agent`, if any.
    pub fn get(&self, agent: AgentId) -> Option<Holder> {
        self.by_agent.read().ok()?.get(&agent).map(|(h, _)| h.clone())
    }

    /// Agents held by nodes not in `alive` since before `before` (ms), with their claim's
    /// revision. A node that just started may hold agents before the list shows it.
    fn orphans(&self, alive: &HashSet<String>, before: i64) -> Vec<(AgentId, u64)> {
        let Ok(map) = self.by_agent.read() else { return Vec::new() };
        let orphan = |h: &Holder| !alive.contains(&h.node) && h.since < before;
        map.iter().filter(|(_, (h, _))| orphan(h)).map(|(id, (_, rev))| (*id, *rev)).collect()
    }

    fn set(&self, agent: AgentId, holder: Option<(Holder, u64)>) {
        if let Ok(mut map) = self.by_agent.write() {
            match holder {
                Some(h) => map.insert(agent, h),
                None => map.remove(&agent),
            };
        }
    }

    /// Follows the bucket for good.
    pub async fn follow(
        self: Arc<Self>,
        bucket: kv::Store,
        mut reconnects: tokio::sync::watch::Receiver<u64>,
        stats: Arc<Stats>,
    ) {
        loop {
            // From the current values each time: claims deleted meanwhile are seen deleted.
            let mut watch = watch(&bucket, "conn.>", None, "the connection claims", &mut reconnects, &stats).await;
            while let Some(Ok(entry)) = next_or_reconnect(&mut watch, &mut reconnects).await {
                let Some(id) = entry.key.strip_prefix("conn.").and_then(|i| i.parse().ok()).and_then(AgentId::new)
                else {
                    continue;
                };
                let holder = match entry.operation {
                    Operation::Put => match serde_json::from_slice::<Holder>(&entry.value) {
                        Ok(h) => Some((h, entry.revision)),
                        Err(e) => {
                            stats.corrupt.inc();
                            warn!(stage = "cluster", key = %entry.key, "connection claim ignored: {e}");
                            continue;
                        }
                    },
                    _ => None,
                };
                self.set(id, holder);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// Publishes this node's connections as they change, for good; what NATS did not take is
/// published at the next round.
pub async fn publish(
    bucket: kv::Store,
    node: String,
    commands: Arc<Commands>,
    holders: Arc<Holders>,
    store: crate::store::Store,
    stats: Arc<Stats>,
) {
    let mut published: HashMap<AgentId, Holder> = HashMap::new();
    loop {
        tokio::time::sleep(PUBLISH_EVERY).await;
        let since: HashMap<AgentId, i64> = commands.connected_since().into_iter().collect();
        let connected: HashSet<AgentId> = since.keys().copied().collect();
        // A claim deleted behind this node's back (swept while it was cut off) is made again.
        published.retain(|id, _| holders.get(*id).is_some());
        let mut reachable = true;
        for (&id, &connected_at) in &since {
            // New connections, and claims made before the agent's keepalive told its version:
            // the store is read for those only, not for every agent every round.
            let made = published.get(&id).filter(|p| p.since == connected_at);
            if made.is_some_and(|p| p.version.is_some()) {
                continue;
            }
            let agent = store.agent(id).ok().flatten();
            let holder = Holder {
                node: node.clone(),
                since: connected_at,
                version: agent.as_ref().and_then(|a| a.version.clone()),
                os: agent.map(|a| a.os).unwrap_or_default(),
            };
            if made.is_some() && holder.version.is_none() {
                continue;
            }
            let claimed = tokio::time::timeout(super::OP_TIMEOUT, claim(&bucket, id, &holder)).await;
            match claimed.unwrap_or_else(|_| Err("NATS did not answer in time".into())) {
                Ok(()) => {
                    published.insert(id, holder);
                }
                Err(e) => {
                    warn!(stage = "cluster", agent = %id, "connection claim not written: {e}; retrying");
                    reachable = false;
                    break;
                }
            }
        }
        if !reachable {
            continue;
        }
        let gone: Vec<AgentId> = published.keys().filter(|id| !connected.contains(id)).copied().collect();
        for id in gone {
            if tokio::time::timeout(super::OP_TIMEOUT, release(&bucket, id, &node)).await.is_ok_and(|r| r.is_ok()) {
                published.remove(&id);
            }
        }
        stats.holders.store(published.len() as u64, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Claims `id` for `holder`, unless a later connection to another node holds it.
async fn claim(bucket: &kv::Store, id: AgentId, holder: &Holder) -> Result<(), String> {
    let value = Bytes::from(serde_json::to_vec(holder).map_err(|e| e.to_string())?);
    for _ in 0..16 {
        let current = live(bucket, &key(id)).await?;
        let other = current.as_ref().and_then(|entry| serde_json::from_slice::<Holder>(&entry.value).ok());
        if other.is_some_and(|h| h.node != holder.node && h.since > holder.since) {
            info!(stage = "cluster", agent = %id, "a later connection to another node holds the agent");
            return Ok(());
        }
        if put_at(bucket, &key(id), value.clone(), current.map(|e| e.revision)).await? {
            return Ok(());
        }
    }
    Err("too much contention".into())
}

/// Deletes `node`'s claim on `id` if it is still `node`'s.
async fn release(bucket: &kv::Store, id: AgentId, node: &str) -> Result<(), String> {
    if let Some(entry) = live(bucket, &key(id)).await?
        && serde_json::from_slice::<Holder>(&entry.value).is_ok_and(|h| h.node == node)
    {
        bucket.delete_expect_revision(key(id), Some(entry.revision)).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// While this node holds the leader lease, deletes the claims of nodes that left the list.
pub async fn sweep(bucket: kv::Store, holders: Arc<Holders>, view: Arc<View>, node: String) {
    loop {
        tokio::time::sleep(super::members::HEARTBEAT).await;
        let members = view.members();
        if !members.iter().any(|m| m.leader && m.info.name == node) {
            continue;
        }
        let alive: HashSet<String> = members.into_iter().map(|m| m.info.name).collect();
        let before = crate::server::now_ms() - super::members::NODE_TTL.as_millis() as i64;
        for (id, revision) in holders.orphans(&alive, before) {
            // A claim renewed meanwhile has another revision and stays.
            let deleted = bucket.delete_expect_revision(key(id), Some(revision));
            let _ = tokio::time::timeout(super::OP_TIMEOUT, deleted).await;
        }
    }
}
