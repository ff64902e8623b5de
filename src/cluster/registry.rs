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

use async_nats::jetstream::kv::{self, CreateErrorKind, Operation, UpdateErrorKind};
use bytes::Bytes;

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
        for _ in 0..CAS_TRIES {
            let current = self.kv.entry(IDS).await.map_err(unavailable)?;
            let (last, revision) = match &current {
                Some(e) if e.operation == Operation::Put => (parse_u32(&e.value), Some(e.revision)),
                _ => (0, None),
            };
            let first = last.max(local_last).saturating_add(1);
            let new_last = first.saturating_add(count.saturating_sub(1));
            if AgentId::new(new_last).is_none() {
                return Err(RegistryError::IdsExhausted);
            }
            let value = Bytes::from(new_last.to_string());
            let stored =
                match revision {
                    Some(revision) => self.kv.update(IDS, value, revision).await.map(drop).map_err(|e| {
                        if e.kind() == UpdateErrorKind::WrongLastRevision { None } else { Some(unavailable(e)) }
                    }),
                    None => self.kv.create(IDS, value).await.map(drop).map_err(|e| {
                        if e.kind() == CreateErrorKind::AlreadyExists { None } else { Some(unavailable(e)) }
                    }),
                };
            match stored {
                Ok(()) => return Ok(first),
                Err(Some(e)) => return Err(e),
                // Another node reserved meanwhile: read again.
                Err(None) => {}
            }
        }
        Err(RegistryError::Unavailable("too much contention on the id counter".into()))
    }

    /// Makes sure no later reservation hands out `id` (an agent inserted with its own id).
    pub async fn reserve_id(&self, id: AgentId) -> Result<(), RegistryError> {
        for _ in 0..CAS_TRIES {
            let current = self.kv.entry(IDS).await.map_err(unavailable)?;
            let value = Bytes::from(id.get().to_string());
            let raced = match &current {
                Some(e) if e.operation == Operation::Put && parse_u32(&e.value) >= id.get() => return Ok(()),
                Some(e) if e.operation == Operation::Put => match self.kv.update(IDS, value, e.revision).await {
                    Ok(_) => false,
                    Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => true,
                    Err(e) => return Err(unavailable(e)),
                },
                _ => match self.kv.create(IDS, value).await {
                    Ok(_) => false,
                    Err(e) if e.kind() == CreateErrorKind::AlreadyExists => true,
                    Err(e) => return Err(unavailable(e)),
                },
            };
            if !raced {
                return Ok(());
            }
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
        let current = self.kv.entry(&key).await.map_err(unavailable)?;
        let Some(current) = current.filter(|e| e.operation == Operation::Put) else {
            return Err(RegistryError::Gone(agent.id));
        };
        match self.kv.update(&key, value, current.revision).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => {
                Err(RegistryError::Unavailable(format!("agent {} changed meanwhile; try again", agent.id)))
            }
            Err(e) => Err(unavailable(e)),
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
        for _ in 0..CAS_TRIES {
            match self.kv.create(key, value()).await {
                Ok(_) => return Ok(Some(Claimed::Created)),
                Err(e) if e.kind() == CreateErrorKind::AlreadyExists => {}
                Err(e) => return Err(unavailable(e)),
            }
            let Some(current) = self.kv.entry(key).await.map_err(unavailable)? else { continue };
            if current.operation != Operation::Put {
                continue;
            }
            let owner = parse_u32(&current.value);
            if owner == holder.get() {
                return Ok(Some(Claimed::Held));
            }
            let replaced = replacing.is_some_and(|r| r.get() == owner);
            if !replaced && !self.stale(owner, &current).await? {
                return Ok(None);
            }
            match self.kv.update(key, value(), current.revision).await {
                Ok(_) => return Ok(AgentId::new(owner).map(Claimed::Moved)),
                Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => {}
                Err(e) => return Err(unavailable(e)),
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
        let record = self.kv.entry(agent_key(owner)).await.map_err(unavailable)?;
        Ok(record.is_none_or(|r| r.operation != Operation::Put))
    }

    /// Gives back the claims a failed enrollment of `holder` obtained: created ones deleted,
    /// moved ones returned to the agent they were taken from. Best effort (see [`Self::stale`]).
    async fn undo(&self, claims: &[(String, Claimed)], holder: AgentId) {
        for (key, how) in claims {
            match how {
                Claimed::Created => self.release(key, holder).await,
                Claimed::Moved(from) => {
                    let Ok(Some(current)) = self.kv.entry(key.clone()).await else { continue };
                    if current.operation == Operation::Put && parse_u32(&current.value) == holder.get() {
                        let back = Bytes::from(from.get().to_string());
                        let _ = self.kv.update(key, back, current.revision).await;
                    }
                }
                Claimed::Held => {}
            }
        }
    }

    /// Deletes the claim `key` if `holder` still holds it. Best effort: a claim left behind
    /// is taken over once [`Self::stale`] says so.
    async fn release(&self, key: &str, holder: AgentId) {
        let Ok(Some(current)) = self.kv.entry(key).await else { return };
        if current.operation == Operation::Put && parse_u32(&current.value) == holder.get() {
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
