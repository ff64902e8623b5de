//! The agent store: agents, keys, groups and status in LMDB (heed).
//!
//! Every change is one LMDB write transaction: it commits whole or not at all, and a crash
//! mid-write leaves the previous state (LMDB's copy-on-write pages and meta-page flip). Agents are
//! kept as parsed records with secondary indexes by name, ip, group and status, so lookups are
//! B-tree seeks, never scans. Several processes may open the same store (`vigil serve` and the
//! CLI), as LMDB allows.

pub mod agent;
mod index;
pub mod keys;
pub mod state;
pub mod wazuh;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use heed::byteorder::BigEndian;
use heed::types::{Bytes, SerdeJson, Str, U32, U64};
use heed::{Database, Env, EnvOpenOptions, RoTxn, RwTxn};
use serde::{Deserialize, Serialize};

pub use agent::{Agent, AgentId, AgentIp, AgentKey, AgentName, FieldError, GroupName, Os, Status};
pub use keys::{KeyEntry, KeysError};
pub use state::StateDb;

use index::IndexKey;

type Id = U32<BigEndian>;

/// Virtual size of the memory map; the file only grows as data is written.
const MAP_SIZE: usize = 4 << 30;

/// What went wrong in the store; each variant names the offending value.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The environment could not be opened or created.
    #[error("cannot open the agent store at {path}: {source}")]
    Open {
        /// Store directory.
        path: PathBuf,
        /// LMDB's reason.
        source: heed::Error,
    },
    /// LMDB failed during a transaction (disk full, map full, I/O).
    #[error("agent store: {0}")]
    Db(#[from] heed::Error),
    /// Another agent already has this name.
    #[error("Duplicate agent name: {0}")]
    DuplicateName(AgentName),
    /// Another agent already has this (non-`any`) address.
    #[error("Duplicate IP: {0}")]
    DuplicateIp(AgentIp),
    /// The id is already taken (by an agent or a removed entry).
    #[error("Duplicate agent id: {0}")]
    DuplicateId(AgentId),
    /// No agent has this id.
    #[error("no agent with id {0}")]
    NoSuchAgent(AgentId),
    /// No group has this name.
    #[error("Invalid group: {0}")]
    NoSuchGroup(GroupName),
    /// Every 8-digit id is taken.
    #[error("no agent id left (the largest id is {})", AgentId::MAX)]
    IdsExhausted,
    /// The system random source failed while generating a key.
    #[error("cannot generate an agent key: {0}")]
    Random(getrandom::Error),
}

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A group of agents (a directory under `etc/shared/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Group name.
    pub name: GroupName,
    /// Creation time, Unix seconds.
    pub created_at: i64,
}

/// A request to register an agent; the store picks the id and the key.
#[derive(Debug, Clone)]
pub struct NewAgent {
    /// Unique name.
    pub name: AgentName,
    /// Registration address.
    pub ip: AgentIp,
    /// Groups, in priority order; each must exist.
    pub groups: Vec<GroupName>,
    /// Registration time, Unix seconds.
    pub registered_at: i64,
}

/// The agent store. Cheap to clone; all clones share one LMDB environment.
#[derive(Clone)]
pub struct Store {
    env: Env,
    agents: Database<Id, SerdeJson<Agent>>,
    /// Removed agents' client.keys lines, kept so their ids are not reused.
    removed: Database<Id, Str>,
    /// Position of each entry in client.keys, so an import exports the same bytes.
    order: Database<Id, U64<BigEndian>>,
    index: Database<Bytes, Bytes>,
    groups: Database<Str, SerdeJson<Group>>,
    meta: Database<Str, Bytes>,
    state: StateDb,
    /// Bumped by every commit that added, removed or re-keyed an agent, so key caches know
    /// when to look again.
    keys_generation: Arc<AtomicU64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.env.path()).finish()
    }
}

const NEXT_POSITION: &str = "next_position";
/// Agents per status and in sync, kept with every change so summaries read five numbers
/// instead of walking the index.
const COUNTS: &str = "counts";
/// The largest id ever handed out, so purged ids are not reused.
const ID_COUNTER: &str = "id_counter";

impl Store {
    /// Opens (creating if needed) the store in directory `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let open_err = |source| StoreError::Open { path: dir.to_owned(), source };
        std::fs::create_dir_all(dir).map_err(|e| open_err(heed::Error::Io(e)))?;
        let env = open_env(dir, MAP_SIZE, 8, Durability::Commit).map_err(open_err)?;
        let state = StateDb::open(&dir.join("state")).map_err(open_err)?;
        let mut wtxn = env.write_txn().map_err(open_err)?;
        let store = Self {
            agents: env.create_database(&mut wtxn, Some("agents")).map_err(open_err)?,
            removed: env.create_database(&mut wtxn, Some("removed")).map_err(open_err)?,
            order: env.create_database(&mut wtxn, Some("order")).map_err(open_err)?,
            index: env.create_database(&mut wtxn, Some("index")).map_err(open_err)?,
            groups: env.create_database(&mut wtxn, Some("groups")).map_err(open_err)?,
            meta: env.create_database(&mut wtxn, Some("meta")).map_err(open_err)?,
            env: env.clone(),
            state,
            keys_generation: Arc::new(AtomicU64::new(0)),
        };
        if store.meta.get(&wtxn, COUNTS).map_err(open_err)?.is_none() {
            let counts = Counts::scan(&store, &wtxn).map_err(open_err)?;
            store.meta.put(&mut wtxn, COUNTS, &counts.to_bytes()).map_err(open_err)?;
        }
        wtxn.commit().map_err(open_err)?;
        let known = |id: AgentId| store.agent(id).map(|a| a.is_some());
        store.state.sweep(known).map_err(|e| match e {
            StoreError::Db(e) => open_err(e),
            other => open_err(heed::Error::Io(std::io::Error::other(other.to_string()))),
        })?;
        Ok(store)
    }

    /// Runs `f` in one write transaction; it commits only if `f` succeeds. The module state of
    /// agents it removed is deleted after the commit (an agent id is never handed out again, so
    /// a crash in between leaves only rows nobody reads, dropped at the next removal or start).
    pub fn write<T>(&self, f: impl FnOnce(&mut Writer<'_>) -> Result<T>) -> Result<T> {
        let mut writer = self.writer()?;
        let value = f(&mut writer)?;
        let Writer { txn, removed, keys_changed, .. } = writer;
        txn.commit()?;
        if keys_changed {
            self.keys_generation.fetch_add(1, Ordering::Release);
        }
        for id in removed {
            self.state.forget(id.into())?;
        }
        Ok(value)
    }

    /// Runs `f` in a write transaction that is always rolled back: what `f` would do, decided
    /// against the store as it is, without doing it (the cluster claims the outcome first).
    pub fn rehearse<T>(&self, f: impl FnOnce(&mut Writer<'_>) -> Result<T>) -> Result<T> {
        // Dropping the writer aborts its transaction.
        f(&mut self.writer()?)
    }

    fn writer(&self) -> Result<Writer<'_>> {
        let txn = self.env.write_txn()?;
        Ok(Writer { store: self, txn, removed: Vec::new(), keys_changed: false, id_block: None })
    }

    /// The largest id ever handed out here.
    pub fn last_id_handed_out(&self) -> Result<u32> {
        self.read(|r| r.last_id_handed_out())
    }

    /// Changes with every commit that added, removed or re-keyed an agent.
    pub fn keys_generation(&self) -> u64 {
        self.keys_generation.load(Ordering::Acquire)
    }

    /// The agents' module state.
    pub fn state(&self) -> &StateDb {
        &self.state
    }

    /// Runs `f` on one consistent snapshot.
    pub fn read<T>(&self, f: impl FnOnce(&Reader<'_>) -> Result<T>) -> Result<T> {
        let txn = self.env.read_txn()?;
        f(&Reader { store: self, txn: &txn })
    }

    /// The agent with this id.
    pub fn agent(&self, id: AgentId) -> Result<Option<Agent>> {
        self.read(|r| r.agent(id))
    }

    /// The agent with this exact (case-sensitive) name.
    pub fn agent_by_name(&self, name: &str) -> Result<Option<Agent>> {
        self.read(|r| r.agent_by_name(name))
    }

    /// Agents registered with this address text.
    pub fn agents_by_ip(&self, ip: &str) -> Result<Vec<Agent>> {
        self.read(|r| r.agents_under(&IndexKey::ip_prefix(ip)))
    }

    /// Agents in a group.
    pub fn agents_in_group(&self, group: &GroupName) -> Result<Vec<Agent>> {
        self.read(|r| r.agents_under(&IndexKey::group_prefix(group)))
    }

    /// Agents with a status.
    pub fn agents_with_status(&self, status: Status) -> Result<Vec<Agent>> {
        self.read(|r| r.agents_under(&IndexKey::status_prefix(status)))
    }

    /// Every agent, by id.
    pub fn agents(&self) -> Result<Vec<Agent>> {
        self.read(|r| r.agents())
    }

    /// Agents by id, `limit` of them from the `offset`-th, and how many there are in all; only
    /// the page is decoded.
    pub fn agents_page(&self, offset: usize, limit: usize) -> Result<(Vec<Agent>, usize)> {
        self.read(|r| {
            let total = usize::try_from(r.store.agents.len(r.txn)?).unwrap_or(usize::MAX);
            let mut page = Vec::with_capacity(limit.min(total));
            for item in r.store.agents.iter(r.txn)?.lazily_decode_data().skip(offset).take(limit) {
                let (_, lazy) = item?;
                page.push(lazy.decode().map_err(heed::Error::Decoding)?);
            }
            Ok((page, total))
        })
    }

    /// How many agents have each status, in [`Status::ALL`]'s order, and how many hold their
    /// group's current configuration (kept up to date by every change: no record is read).
    pub fn status_counts(&self) -> Result<([usize; 4], usize)> {
        self.read(|r| {
            let counts = Counts::read(r.store.meta.get(r.txn, COUNTS)?);
            Ok((
                counts.status.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
                usize::try_from(counts.synced).unwrap_or(usize::MAX),
            ))
        })
    }

    /// Every group, by name.
    pub fn groups(&self) -> Result<Vec<Group>> {
        self.read(|r| Ok(r.store.groups.iter(r.txn)?.map(|g| g.map(|(_, g)| g)).collect::<Result<_, _>>()?))
    }

    /// Registers an agent with the next free id and a fresh key.
    pub fn add_agent(&self, new: NewAgent) -> Result<Agent> {
        self.write(|w| w.add_agent(new))
    }

    /// Removes an agent. Without `purge` its line stays in client.keys as `<id> !<name> …` so
    /// the id is never handed out again.
    pub fn remove_agent(&self, id: AgentId, purge: bool) -> Result<Agent> {
        self.write(|w| w.remove_agent(id, purge))
    }

    /// Imports client.keys entries in one transaction: all or nothing.
    pub fn import_keys(&self, entries: &[KeyEntry], registered_at: i64) -> Result<usize> {
        self.write(|w| {
            for entry in entries {
                w.import_entry(entry, registered_at)?;
            }
            Ok(entries.len())
        })
    }

    /// Every entry in client.keys order (imported order, then registration order).
    pub fn key_entries(&self) -> Result<Vec<KeyEntry>> {
        self.read(|r| r.key_entries())
    }

    /// client.keys as Wazuh would write it.
    pub fn export_keys(&self) -> Result<String> {
        Ok(keys::format(&self.key_entries()?))
    }

    /// Creates a group if it does not exist. `Ok(true)` when created.
    pub fn add_group(&self, name: &GroupName, created_at: i64) -> Result<bool> {
        self.write(|w| w.add_group(name, created_at))
    }

    /// A value from the store's own metadata.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.read(|r| Ok(r.store.meta.get(r.txn, key)?.map(<[u8]>::to_vec)))
    }
}

/// When a commit reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// At commit (LMDB's default).
    Commit,
    /// At the next [`Env::force_sync`] or when the kernel writes the pages back.
    Deferred,
}

#[allow(unsafe_code)]
fn open_env(dir: &Path, map_size: usize, max_dbs: u32, durability: Durability) -> heed::Result<Env> {
    let mut options = EnvOpenOptions::new();
    options.map_size(map_size).max_dbs(max_dbs);
    // SAFETY: heed requires that the memory-mapped files are not modified behind LMDB's back.
    // Only LMDB writes `data.mdb`/`lock.mdb` in this private directory (created 0700 by the
    // home), every process goes through LMDB's own lock file, NO_LOCK is never set, and the
    // home is refused if it sits on a remote filesystem. NO_SYNC (deferred durability) keeps
    // LMDB's atomicity and consistency without WRITE_MAP; it only gives up the sync at commit.
    unsafe {
        if durability == Durability::Deferred {
            options.flags(heed::EnvFlags::NO_SYNC);
        }
        options.open(dir)
    }
}

/// A consistent read snapshot.
pub struct Reader<'a> {
    store: &'a Store,
    txn: &'a RoTxn<'a>,
}

impl Reader<'_> {
    /// The agent with this id.
    pub fn agent(&self, id: AgentId) -> Result<Option<Agent>> {
        Ok(self.store.agents.get(self.txn, &id.get())?)
    }

    /// The agent with this name.
    pub fn agent_by_name(&self, name: &str) -> Result<Option<Agent>> {
        match self.store.index.get(self.txn, &IndexKey::name(name))? {
            Some(id) => self.agent_id_at(id),
            None => Ok(None),
        }
    }

    fn agent_id_at(&self, raw: &[u8]) -> Result<Option<Agent>> {
        match index::decode_id(raw) {
            Some(id) => Ok(self.store.agents.get(self.txn, &id)?),
            None => Ok(None),
        }
    }

    fn agents_under(&self, prefix: &[u8]) -> Result<Vec<Agent>> {
        let mut found = Vec::new();
        for item in self.store.index.prefix_iter(self.txn, prefix)? {
            let (key, _) = item?;
            if let Some(agent) = self.agent_id_at(&key[key.len().saturating_sub(4)..])? {
                found.push(agent);
            }
        }
        Ok(found)
    }

    /// Every agent by id.
    pub fn agents(&self) -> Result<Vec<Agent>> {
        Ok(self.store.agents.iter(self.txn)?.map(|a| a.map(|(_, a)| a)).collect::<Result<_, _>>()?)
    }

    /// The largest id in use, removed entries included (Wazuh's `id_counter`).
    pub fn last_id(&self) -> Result<Option<AgentId>> {
        let active = self.store.agents.last(self.txn)?.map(|(id, _)| id);
        let removed = self.store.removed.last(self.txn)?.map(|(id, _)| id);
        Ok(active.max(removed).and_then(AgentId::new))
    }

    /// The largest id ever handed out: the largest in use or removed, or the counter's, kept so
    /// purged ids are not reused.
    pub fn last_id_handed_out(&self) -> Result<u32> {
        let last = self.last_id()?.map_or(0, AgentId::get);
        Ok(last.max(self.id_counter()?.unwrap_or(0)))
    }

    fn id_counter(&self) -> Result<Option<u32>> {
        let counter = self.store.meta.get(self.txn, ID_COUNTER)?.and_then(|b| <[u8; 4]>::try_from(b).ok());
        Ok(counter.map(u32::from_be_bytes))
    }

    fn key_entries(&self) -> Result<Vec<KeyEntry>> {
        let mut entries = Vec::new();
        for item in self.store.agents.iter(self.txn)? {
            let (id, a) = item?;
            let position = self.store.order.get(self.txn, &id)?.unwrap_or(u64::MAX);
            entries.push((position, KeyEntry::Active { id: a.id, name: a.name, ip: a.ip, key: a.key }));
        }
        for item in self.store.removed.iter(self.txn)? {
            let (raw, line) = item?;
            if let Some(id) = AgentId::new(raw) {
                let position = self.store.order.get(self.txn, &raw)?.unwrap_or(u64::MAX);
                entries.push((position, KeyEntry::Removed { id, line: line.to_owned() }));
            }
        }
        entries.sort_by_key(|(position, entry)| (*position, entry.id()));
        Ok(entries.into_iter().map(|(_, e)| e).collect())
    }
}

/// An open write transaction. Dropping it without [`Store::write`] returning `Ok` aborts it.
pub struct Writer<'a> {
    store: &'a Store,
    txn: RwTxn<'a>,
    /// Agents removed in this transaction, whose state goes once it commits.
    removed: Vec<AgentId>,
    /// An agent was added, removed, renamed or re-keyed.
    keys_changed: bool,
    /// Ids [`Writer::add_agent`] must take, in order (a block the cluster reserved).
    id_block: Option<std::ops::Range<u32>>,
}

impl Writer<'_> {
    fn reader<T>(&self, f: impl FnOnce(&Reader<'_>) -> Result<T>) -> Result<T> {
        f(&Reader { store: self.store, txn: &self.txn })
    }

    /// Registers an agent with the next free id and a fresh key.
    ///
    /// Ids only grow: the counter is kept in the store, so the id of an agent removed with
    /// `purge` is not handed out again (Wazuh's in-memory `id_counter` does the same while
    /// authd runs).
    pub fn add_agent(&mut self, new: NewAgent) -> Result<Agent> {
        let next = match &mut self.id_block {
            Some(block) => block.next(),
            None => Some(self.reader(|r| r.last_id_handed_out())? + 1),
        };
        let id = next.and_then(AgentId::new).ok_or(StoreError::IdsExhausted)?;
        let key = AgentKey::generate().map_err(StoreError::Random)?;
        if !new.ip.is_any() && !self.agents_by_ip(new.ip.as_str())?.is_empty() {
            return Err(StoreError::DuplicateIp(new.ip));
        }
        let mut agent = Agent::new(id, new.name, new.ip, key, new.registered_at);
        agent.groups = new.groups;
        self.insert(&agent)?;
        self.raise_id_counter(id.get())?;
        Ok(agent)
    }

    /// The agent with this name, within this transaction.
    pub fn agent_by_name(&self, name: &str) -> Result<Option<Agent>> {
        self.reader(|r| r.agent_by_name(name))
    }

    /// Makes [`Writer::add_agent`] hand out the ids of `block` only, in order (ids the cluster
    /// reserved for this node; others may be another node's).
    pub fn use_id_block(&mut self, block: std::ops::Range<u32>) {
        self.id_block = Some(block);
    }

    /// Makes the next [`Writer::add_agent`] hand out ids above `last` (a block the cluster
    /// reserved, or an id another node handed out).
    pub fn raise_id_counter(&mut self, last: u32) -> Result<()> {
        // The counter itself, not the largest id in use: it must outlive the agent (purged ids
        // are not reused).
        if self.reader(|r| r.id_counter())?.is_none_or(|counter| counter < last) {
            self.store.meta.put(&mut self.txn, ID_COUNTER, &last.to_be_bytes())?;
        }
        Ok(())
    }

    /// Agents registered with exactly this address text, within this transaction.
    pub fn agents_by_ip(&self, ip: &str) -> Result<Vec<Agent>> {
        self.reader(|r| r.agents_under(&IndexKey::ip_prefix(ip)))
    }

    /// Agents with a status, within this transaction.
    pub fn agents_with_status(&self, status: Status) -> Result<Vec<Agent>> {
        self.reader(|r| r.agents_under(&IndexKey::status_prefix(status)))
    }

    /// Whether a group exists, within this transaction.
    pub fn has_group(&self, name: &GroupName) -> Result<bool> {
        Ok(self.store.groups.get(&self.txn, name.as_str())?.is_some())
    }

    /// Inserts a complete agent record (import paths); the id must be free.
    pub fn insert(&mut self, agent: &Agent) -> Result<()> {
        let raw = agent.id.get();
        if self.store.agents.get(&self.txn, &raw)?.is_some() || self.store.removed.get(&self.txn, &raw)?.is_some() {
            return Err(StoreError::DuplicateId(agent.id));
        }
        for group in &agent.groups {
            if self.store.groups.get(&self.txn, group.as_str())?.is_none() {
                return Err(StoreError::NoSuchGroup(group.clone()));
            }
        }
        self.put(None, agent)?;
        self.keys_changed = true;
        let position = self.next_position()?;
        self.store.order.put(&mut self.txn, &raw, &position)?;
        Ok(())
    }

    /// Changes an agent in place; indexes follow. The id cannot change.
    pub fn update(&mut self, id: AgentId, f: impl FnOnce(&mut Agent)) -> Result<Agent> {
        let old = self.store.agents.get(&self.txn, &id.get())?.ok_or(StoreError::NoSuchAgent(id))?;
        let mut new = old.clone();
        f(&mut new);
        new.id = id;
        self.keys_changed |= new.key != old.key || new.name != old.name || new.ip != old.ip;
        self.put(Some(&old), &new)?;
        Ok(new)
    }

    /// Removes an agent, keeping a `!` line unless `purge`.
    pub fn remove_agent(&mut self, id: AgentId, purge: bool) -> Result<Agent> {
        let raw = id.get();
        let agent = self.store.agents.get(&self.txn, &raw)?.ok_or(StoreError::NoSuchAgent(id))?;
        for key in IndexKey::all(&agent) {
            self.store.index.delete(&mut self.txn, &key)?;
        }
        self.store.agents.delete(&mut self.txn, &raw)?;
        self.count(&agent, -1)?;
        self.removed.push(id);
        self.keys_changed = true;
        if purge {
            self.store.order.delete(&mut self.txn, &raw)?;
        } else {
            // Wazuh writes removed lines after the active ones.
            let line = format!("{} !{} {} {}", agent.id, agent.name, agent.ip, agent.key.expose());
            self.store.removed.put(&mut self.txn, &raw, &line)?;
            let position = self.next_position()?;
            self.store.order.put(&mut self.txn, &raw, &position)?;
        }
        Ok(agent)
    }

    /// Creates a group if missing. `Ok(true)` when created.
    pub fn add_group(&mut self, name: &GroupName, created_at: i64) -> Result<bool> {
        if self.store.groups.get(&self.txn, name.as_str())?.is_some() {
            return Ok(false);
        }
        let group = Group { name: name.clone(), created_at };
        self.store.groups.put(&mut self.txn, name.as_str(), &group)?;
        Ok(true)
    }

    /// Removes a group and takes it off every agent in it. `Ok(false)` when there was none.
    pub fn remove_group(&mut self, name: &GroupName) -> Result<bool> {
        if !self.has_group(name)? {
            return Ok(false);
        }
        let members = self.reader(|r| r.agents_under(&IndexKey::group_prefix(name)))?;
        for agent in members {
            self.update(agent.id, |a| a.groups.retain(|g| g != name))?;
        }
        self.store.groups.delete(&mut self.txn, name.as_str())?;
        Ok(true)
    }

    /// Sets a metadata value.
    pub fn set_meta(&mut self, key: &str, value: &[u8]) -> Result<()> {
        Ok(self.store.meta.put(&mut self.txn, key, value)?)
    }

    /// Reads within this transaction.
    pub fn agent(&self, id: AgentId) -> Result<Option<Agent>> {
        self.reader(|r| r.agent(id))
    }

    fn import_entry(&mut self, entry: &KeyEntry, registered_at: i64) -> Result<()> {
        match entry {
            KeyEntry::Active { id, name, ip, key } => {
                let agent = Agent::new(*id, name.clone(), ip.clone(), key.clone(), registered_at);
                self.insert(&agent)
            }
            KeyEntry::Removed { id, line } => {
                let raw = id.get();
                if self.store.agents.get(&self.txn, &raw)?.is_some()
                    || self.store.removed.get(&self.txn, &raw)?.is_some()
                {
                    return Err(StoreError::DuplicateId(*id));
                }
                self.store.removed.put(&mut self.txn, &raw, line)?;
                let position = self.next_position()?;
                self.store.order.put(&mut self.txn, &raw, &position)?;
                Ok(())
            }
        }
    }

    /// Writes the record and moves its index entries from `old` to `new`.
    fn put(&mut self, old: Option<&Agent>, new: &Agent) -> Result<()> {
        if old.is_none_or(|o| o.name != new.name)
            && let Some(existing) = self.store.index.get(&self.txn, &IndexKey::name(new.name.as_str()))?
            && index::decode_id(existing) != Some(new.id.get())
        {
            return Err(StoreError::DuplicateName(new.name.clone()));
        }
        let before = old.map(IndexKey::all).unwrap_or_default();
        let after = IndexKey::all(new);
        for key in before.iter().filter(|k| !after.contains(k)) {
            self.store.index.delete(&mut self.txn, key)?;
        }
        let id = new.id.get().to_be_bytes();
        for key in after.iter().filter(|k| !before.contains(k)) {
            self.store.index.put(&mut self.txn, key, &id)?;
        }
        self.store.agents.put(&mut self.txn, &new.id.get(), new)?;
        if old.is_none_or(|o| o.status != new.status || o.config_synced != new.config_synced) {
            if let Some(old) = old {
                self.count(old, -1)?;
            }
            self.count(new, 1)?;
        }
        Ok(())
    }

    /// Adds `agent` to (or, with -1, takes it from) the counts.
    fn count(&mut self, agent: &Agent, delta: i64) -> Result<()> {
        let mut counts = Counts::read(self.store.meta.get(&self.txn, COUNTS)?);
        counts.add(agent, delta);
        Ok(self.store.meta.put(&mut self.txn, COUNTS, &counts.to_bytes())?)
    }

    fn next_position(&mut self) -> Result<u64> {
        let current = self
            .store
            .meta
            .get(&self.txn, NEXT_POSITION)?
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(0, u64::from_be_bytes);
        self.store.meta.put(&mut self.txn, NEXT_POSITION, &(current + 1).to_be_bytes())?;
        Ok(current)
    }
}

/// Agents per status and how many are in sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    status: [u64; 4],
    synced: u64,
}

impl Counts {
    fn read(raw: Option<&[u8]>) -> Self {
        let mut counts = Self::default();
        let numbers =
            raw.unwrap_or_default().chunks_exact(8).filter_map(|c| <[u8; 8]>::try_from(c).ok()).map(u64::from_be_bytes);
        for (slot, n) in counts.status.iter_mut().chain(std::iter::once(&mut counts.synced)).zip(numbers) {
            *slot = n;
        }
        counts
    }

    fn to_bytes(self) -> Vec<u8> {
        self.status.iter().chain(std::iter::once(&self.synced)).flat_map(|n| n.to_be_bytes()).collect()
    }

    fn add(&mut self, agent: &Agent, delta: i64) {
        let apply = |n: &mut u64| *n = n.saturating_add_signed(delta);
        if let Some(i) = Status::ALL.iter().position(|s| *s == agent.status) {
            apply(&mut self.status[i]);
        }
        if agent.config_synced {
            apply(&mut self.synced);
        }
    }

    /// Counts every agent (stores written before the counts were kept).
    fn scan(store: &Store, txn: &RoTxn<'_>) -> heed::Result<Self> {
        let mut counts = Self::default();
        for item in store.agents.iter(txn)? {
            counts.add(&item?.1, 1);
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests;
