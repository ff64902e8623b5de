//! The agent registry in a JetStream KV bucket, the cluster's one source of truth for who is
//! enrolled. Uniqueness is kept by the bucket's atomic operations, never by a leader:
//!
//! - `ids` holds the largest id handed out; a node reserves a block with compare-and-set.
//! - `name.<hex>` and `ip.<hex>` are claims holding the id of the agent that owns the name or
//!   address: created only if absent, or moved from the agent being replaced with
//!   compare-and-set, so two nodes can never give one name to two agents.
//! - `agent.<id>` is the sealed [`Record`]; a delete removes the agent everywhere.
//!
//! Each node mirrors `agent.*` into its LMDB ([`super::mirror`]); nothing here is on the hot path.

use async_nats::jetstream::kv::{self, CreateErrorKind};
use bytes::Bytes;

use super::cas::{live, put_at};
use super::record::Record;
use super::seal::{SealError, Sealer};
use crate::store::{Agent, AgentId, AgentIp, AgentName};

/// The key holding the largest id handed out.
const IDS: &str = "ids";
/// How many times a compare-and-set is retried against concurrent writers.
const CAS_TRIES: usize = 64;
/// A claim whose agent has no record is taken over after this long (an enrollment that failed
/// half-way, a removal whose release was lost).
const STALE_CLAIM: std::time::Duration = std::time::Duration::from_secs(60);

/// Why the registry refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// NATS did not answer (or answered with an error): nothing can be decided.
    #[error("cluster registry unavailable: {0}")]
    Unavailable(String),
    /// Another agent holds the name cluster-wide.
    #[error("Duplicate agent name: {0}")]
    NameTaken(AgentName),
    /// Another agent holds the address cluster-wide.
    #[error("Duplicate IP: {0}")]
    IpTaken(AgentIp),
    /// The id is in use cluster-wide.
    #[error("Duplicate agent id: {0}")]
    IdTaken(AgentId),
    /// The agent is no longer registered.
    #[error("agent {0} is no longer registered")]
    Gone(AgentId),
    /// Every 8-digit id is taken.
    #[error("no agent id left (the largest id is {})", AgentId::MAX)]
    IdsExhausted,
    /// A value could not be sealed.
    #[error(transparent)]
    Seal(#[from] SealError),
}

fn unavailable(e: impl std::fmt::Display) -> RegistryError {
    RegistryError::Unavailable(e.to_string())
}

/// The KV key of an agent's record.
pub fn agent_key(id: AgentId) -> String {
    format!("agent.{}", id.get())
}

/// The id named by an `agent.<id>` key.
pub fn agent_id_of(key: &str) -> Option<AgentId> {
    key.strip_prefix("agent.")?.parse().ok().and_then(AgentId::new)
}

fn name_key(name: &AgentName) -> String {
    format!("name.{}", crate::hex::encode(name.as_str().as_bytes()))
}

fn ip_key(ip: &AgentIp) -> String {
    format!("ip.{}", crate::hex::encode(ip.as_str().as_bytes()))
}

/// The registry bucket and the sealer of its records.
#[derive(Debug, Clone)]
pub struct Registry {
    kv: kv::Store,
    sealer: std::sync::Arc<Sealer>,
}

impl Registry {
    /// The registry in `kv`, sealed with `sealer`.
    pub fn new(kv: kv::Store, sealer: std::sync::Arc<Sealer>) -> Self {
        Self { kv, sealer }
    }

    /// The record sealed in an `agent.<id>` value.
    pub fn open(&self, key: &str, value: &[u8]) -> Result<Record, String> {
        let plain = self.sealer.open(key, value).map_err(|e| e.to_string())?;
        serde_json::from_slice(&plain).map_err(|e| format!("not an agent record: {e}"))
    }

    /// Reserves `count` consecutive ids above both the cluster's largest and `local_last`; the
    /// first comes back.
    pub async fn reserve_ids(&self, count: u32, local_last: u32) -> Result<u32, RegistryError> {
        let last = self
            .raise_ids(|last| {
                let new_last = last.max(local_last).saturating_add(count);
                AgentId::new(new_last).map(|_| Some(new_last)).ok_or(RegistryError::IdsExhausted)
            })
            .await?;
        Ok(last - count.saturating_sub(1))
    }

    /// Makes sure no later reservation hands out `id` (an agent inserted with its own id).
    pub async fn reserve_id(&self, id: AgentId) -> Result<(), RegistryError> {
        self.raise_ids(|last| Ok((last < id.get()).then_some(id.get()))).await.map(drop)
    }

    /// Moves the largest id handed out to what `next` says of the current one (`None`: leave
    /// it), with compare-and-set against other nodes; the value in force comes back.
    async fn raise_ids(&self, next: impl Fn(u32) -> Result<Option<u32>, RegistryError>) -> Result<u32, RegistryError> {
        for _ in 0..CAS_TRIES {
            let current = live(&self.kv, IDS).await.map_err(RegistryError::Unavailable)?;
            let last = current.as_ref().map_or(0, |e| parse_u32(&e.value));
            let Some(new_last) = next(last)? else { return Ok(last) };
            let value = Bytes::from(new_last.to_string());
            if put_at(&self.kv, IDS, value, current.map(|e| e.revision)).await.map_err(RegistryError::Unavailable)? {
                return Ok(new_last);
            }
            // Another node reserved meanwhile: read again.
        }
        Err(RegistryError::Unavailable("too much contention on the id counter".into()))
    }

    /// Registers `agent`, taking over the names and addresses of `replaced` (agents `<force>`
    /// lets it replace, which leave the registry). On failure what it claimed is given back.
    pub async fn enroll(&self, agent: &Agent, replaced: &[Agent]) -> Result<(), RegistryError> {
        let from = |pick: &dyn Fn(&Agent) -> bool| replaced.iter().find(|r| pick(r)).map(|r| r.id);
        let name = name_key(&agent.name);
        let by_name = self
            .claim(&name, agent.id, from(&|r| r.name == agent.name))
            .await?
            .ok_or_else(|| RegistryError::NameTaken(agent.name.clone()))?;
        let mut claims = vec![(name, by_name)];
        if !agent.ip.is_any() {
            let ip = ip_key(&agent.ip);
            match self.claim(&ip, agent.id, from(&|r| r.ip == agent.ip)).await {
                Ok(Some(how)) => claims.push((ip, how)),
                failed => {
                    self.undo(&claims, agent.id).await;
                    return Err(failed.err().unwrap_or_else(|| RegistryError::IpTaken(agent.ip.clone())));
                }
            }
        }
        if let Err(e) = self.create_record(agent).await {
            self.undo(&claims, agent.id).await;
            return Err(e);
        }
        // The new agent is registered: a replaced one left behind (NATS failing now) is dropped
        // by every mirror, its name being the new agent's.
        for old in replaced {
            if let Err(e) = self.remove(old).await {
                tracing::warn!(stage = "cluster", agent = %old.id, "replaced agent still in the registry: {e}");
            }
        }
        Ok(())
    }

    /// Removes `agent` from the registry: its record, and the claims it still holds.
    pub async fn remove(&self, agent: &Agent) -> Result<(), RegistryError> {
        self.kv.delete(agent_key(agent.id)).await.map_err(unavailable)?;
        self.release(&name_key(&agent.name), agent.id).await;
        if !agent.ip.is_any() {
            self.release(&ip_key(&agent.ip), agent.id).await;
        }
        Ok(())
    }

    /// Stores `agent`'s changed identity (groups, say) for every node, unless it left the
    /// registry or changed meanwhile (compare-and-set: a removal is never undone by an update).
    pub async fn update(&self, agent: &Agent) -> Result<(), RegistryError> {
        let key = agent_key(agent.id);
        let value = self.seal(&key, agent)?;
        let current = live(&self.kv, &key).await.map_err(RegistryError::Unavailable)?;
        let Some(current) = current else { return Err(RegistryError::Gone(agent.id)) };
        if put_at(&self.kv, &key, value, Some(current.revision)).await.map_err(RegistryError::Unavailable)? {
            Ok(())
        } else {
            Err(RegistryError::Unavailable(format!("agent {} changed meanwhile; try again", agent.id)))
        }
    }

    async fn create_record(&self, agent: &Agent) -> Result<(), RegistryError> {
        let key = agent_key(agent.id);
        let value = self.seal(&key, agent)?;
        match self.kv.create(&key, value).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == CreateErrorKind::AlreadyExists => Err(RegistryError::IdTaken(agent.id)),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn seal(&self, key: &str, agent: &Agent) -> Result<Bytes, RegistryError> {
        let plain = serde_json::to_vec(&Record::of(agent)).map_err(|e| RegistryError::Unavailable(e.to_string()))?;
        Ok(Bytes::from(self.sealer.seal(key, &plain)?))
    }

    /// Claims `key` for `holder`: how it was obtained (created, moved from `replacing` or from
    /// an owner that is gone, or already `holder`'s), or `None` when another agent holds it.
    async fn claim(
        &self,
        key: &str,
        holder: AgentId,
        replacing: Option<AgentId>,
    ) -> Result<Option<Claimed>, RegistryError> {
        let value = || Bytes::from(holder.get().to_string());
        let cas = |value, revision| async move {
            put_at(&self.kv, key, value, revision).await.map_err(RegistryError::Unavailable)
        };
        for _ in 0..CAS_TRIES {
            if cas(value(), None).await? {
                return Ok(Some(Claimed::Created));
            }
            let Some(current) = live(&self.kv, key).await.map_err(RegistryError::Unavailable)? else { continue };
            let owner = parse_u32(&current.value);
            if owner == holder.get() {
                return Ok(Some(Claimed::Held));
            }
            let replaced = replacing.is_some_and(|r| r.get() == owner);
            if !replaced && !self.stale(owner, &current).await? {
                return Ok(None);
            }
            if cas(value(), Some(current.revision)).await? {
                return Ok(AgentId::new(owner).map(Claimed::Moved));
            }
        }
        Ok(None)
    }

    /// Whether a claim held by `owner` was left behind: old enough that no enrollment is still
    /// completing it, and no record of `owner` exists.
    async fn stale(&self, owner: u32, claim: &kv::Entry) -> Result<bool, RegistryError> {
        let age = crate::server::now().saturating_sub(claim.created.unix_timestamp());
        if age < STALE_CLAIM.as_secs() as i64 {
            return Ok(false);
        }
        let Some(owner) = AgentId::new(owner) else { return Ok(true) };
        Ok(live(&self.kv, &agent_key(owner)).await.map_err(RegistryError::Unavailable)?.is_none())
    }

    /// Gives back the claims a failed enrollment of `holder` obtained: created ones deleted,
    /// moved ones returned to the agent they were taken from. Best effort (see [`Self::stale`]).
    async fn undo(&self, claims: &[(String, Claimed)], holder: AgentId) {
        for (key, how) in claims {
            match how {
                Claimed::Created => self.release(key, holder).await,
                Claimed::Moved(from) => {
                    let Ok(Some(current)) = live(&self.kv, key).await else { continue };
                    if parse_u32(&current.value) == holder.get() {
                        let back = Bytes::from(from.get().to_string());
                        let _ = put_at(&self.kv, key, back, Some(current.revision)).await;
                    }
                }
                Claimed::Held => {}
            }
        }
    }

    /// Deletes the claim `key` if `holder` still holds it. Best effort: a claim left behind
    /// is taken over once [`Self::stale`] says so.
    async fn release(&self, key: &str, holder: AgentId) {
        let Ok(Some(current)) = live(&self.kv, key).await else { return };
        if parse_u32(&current.value) == holder.get() {
            let _ = self.kv.delete_expect_revision(key, Some(current.revision)).await;
        }
    }
}

/// How a claim was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claimed {
    /// It was free.
    Created,
    /// Taken from this agent (replaced, or gone).
    Moved(AgentId),
    /// `holder` had it already (a retry).
    Held,
}

fn parse_u32(value: &[u8]) -> u32 {
    std::str::from_utf8(value).ok().and_then(|s| s.parse().ok()).unwrap_or(0)
}
