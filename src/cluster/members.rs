//! Node membership: each node writes a heartbeat into a KV bucket whose entries expire, so a
//! node that stops writing leaves the list on its own; and one node holds a leader lease (for
//! singleton housekeeping), renewed with compare-and-set and taken over when it expires. The
//! lease holder reports itself as Wazuh's `master`, the others as `worker`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::kv;
use bytes::Bytes;
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::cas::{live, put_at};
use super::stats::Stats;

/// How often a node writes its heartbeat and renews or seeks the lease.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// A node silent this long leaves the list (the nodes bucket's max age).
pub const NODE_TTL: Duration = Duration::from_secs(10);
/// A lease not renewed this long expires (the lease bucket's max age).
pub const LEASE_TTL: Duration = Duration::from_secs(10);
/// The lease's key.
const LEADER: &str = "leader";

/// What a node says of itself in each heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// `<node_name>`.
    pub name: String,
    /// The address agents and peers reach it at.
    pub address: String,
    /// vigil's version.
    pub version: String,
    /// Agents it serves now.
    pub agents: u64,
    /// Events per second it analyses.
    pub eps: u64,
    /// When it started, Unix seconds.
    pub started: i64,
    /// When it wrote this, Unix seconds.
    pub seen: i64,
}

/// A node as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// Its heartbeat.
    #[serde(flatten)]
    pub info: NodeInfo,
    /// Whether it holds the lease.
    pub leader: bool,
}

/// What a node's heartbeat reports of its load.
#[derive(Debug, Clone, Copy, Default)]
pub struct Load {
    /// Agents it serves now.
    pub agents: u64,
    /// Events per second it analyses.
    pub eps: u64,
}

/// The latest view of the cluster, refreshed with every heartbeat.
#[derive(Debug, Default)]
pub struct View {
    members: Mutex<Vec<Member>>,
}

impl View {
    /// The nodes alive at the last heartbeat, by name.
    pub fn members(&self) -> Vec<Member> {
        self.members.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn set(&self, members: Vec<Member>) {
        if let Ok(mut current) = self.members.lock() {
            *current = members;
        }
    }
}

fn node_key(name: &str) -> String {
    format!("node.{}", crate::hex::encode(name.as_bytes()))
}

/// Everything the heartbeat loop needs.
pub struct Heartbeat {
    /// The nodes bucket.
    pub nodes: kv::Store,
    /// The lease bucket.
    pub lease: kv::Store,
    /// This node, minus its load.
    pub me: NodeInfo,
    /// Reads this node's load.
    pub load: Arc<dyn Fn() -> Load + Send + Sync>,
    /// Where the view goes.
    pub view: Arc<View>,
    /// Counters.
    pub stats: Arc<Stats>,
}

/// The nodes whose heartbeat has not expired, by name; `leader` names the lease holder, and
/// `corrupt` hears of values that do not parse.
pub async fn list(
    nodes: &kv::Store,
    leader: Option<&str>,
    corrupt: &(dyn Fn(&str, String) + Sync),
) -> Result<Vec<Member>, String> {
    let mut members = Vec::new();
    let mut keys = nodes.keys().await.map_err(|e| e.to_string())?;
    while let Some(key) = keys.try_next().await.map_err(|e| e.to_string())? {
        let Ok(Some(entry)) = live(nodes, &key).await else { continue };
        match serde_json::from_slice::<NodeInfo>(&entry.value) {
            Ok(info) => {
                let leader = leader == Some(info.name.as_str());
                members.push(Member { info, leader });
            }
            Err(e) => corrupt(&key, e.to_string()),
        }
    }
    members.sort_by(|a, b| a.info.name.cmp(&b.info.name));
    Ok(members)
}

/// The node holding the leader lease, if any.
pub async fn holder(lease: &kv::Store) -> Result<Option<String>, String> {
    let value = lease.get(LEADER).await.map_err(|e| e.to_string())?;
    Ok(value.map(|v| String::from_utf8_lossy(&v).into_owned()))
}

impl Heartbeat {
    /// Beats for good.
    pub async fn run(mut self) {
        let mut warned = HashSet::new();
        let mut leading = false;
        loop {
            let load = (self.load)();
            self.me.agents = load.agents;
            self.me.eps = load.eps;
            self.me.seen = crate::server::now();
            let beat = tokio::time::timeout(super::OP_TIMEOUT, self.beat(&mut leading, &mut warned)).await;
            match beat.unwrap_or_else(|_| Err("NATS did not answer in time".into())) {
                Ok(()) => self.stats.heartbeats.inc(),
                Err(e) => warn!(stage = "cluster", "heartbeat not written: {e}"),
            }
            tokio::time::sleep(HEARTBEAT).await;
        }
    }

    async fn beat(&self, leading: &mut bool, warned: &mut HashSet<String>) -> Result<(), String> {
        let me = serde_json::to_vec(&self.me).map_err(|e| e.to_string())?;
        self.nodes.put(node_key(&self.me.name), Bytes::from(me)).await.map_err(|e| e.to_string())?;
        let leader = self.lease().await?;
        let now_leading = leader.as_deref() == Some(self.me.name.as_str());
        if now_leading != *leading {
            info!(stage = "cluster", node = %self.me.name, "{}", if now_leading { "Leader lease taken: this node is the master" } else { "Leader lease lost: this node is a worker" });
            *leading = now_leading;
        }
        let members = list(&self.nodes, leader.as_deref(), &|key, e| {
            self.stats.corrupt.inc();
            warn!(stage = "cluster", key = %key, "heartbeat value ignored: {e}");
        })
        .await?;
        for m in &members {
            if m.info.version != self.me.version && warned.insert(m.info.name.clone()) {
                warn!(stage = "cluster", node = %m.info.name, version = %m.info.version, ours = %self.me.version, "A node runs another vigil version");
            }
        }
        self.view.set(members);
        Ok(())
    }

    /// Renews the lease when this node holds it, takes it when nobody does; the holder's name
    /// comes back.
    async fn lease(&self) -> Result<Option<String>, String> {
        // Renewing (ours) restarts the bucket's max age; taking it needs it expired. Losing
        // either race means another node holds it.
        let revision = match live(&self.lease, LEADER).await? {
            Some(entry) if *entry.value == *self.me.name.as_bytes() => Some(entry.revision),
            Some(entry) => return Ok(Some(String::from_utf8_lossy(&entry.value).into_owned())),
            None => None,
        };
        match put_at(&self.lease, LEADER, Bytes::from(self.me.name.clone()), revision).await {
            Ok(true) => Ok(Some(self.me.name.clone())),
            _ => holder(&self.lease).await,
        }
    }
}
