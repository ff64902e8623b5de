//! Per-agent module state: what wazuh-db keeps in each agent's database (FIM entries, SCA
//! policies and checks, rootcheck findings, inventory, host info), in its own LMDB environment.
//!
//! Rows are JSON objects keyed by `[agent id: 4 bytes BE][table: 1 byte][row key]`, so an
//! agent's table is one prefix seek, a key range (FIM integrity checks) one range seek, and an
//! agent's whole state one range delete. Each table holds at most [`MAX_ROWS`] rows per agent;
//! past that new rows are refused and counted.
//!
//! The environment is opened without a sync per commit: the state is what agents re-send on
//! their next scan or integrity check, so losing the last instant of it in a power cut costs a
//! resync, while an fsync per batch would cap the event rate. [`StateDb::sync`] flushes it
//! (the server calls it periodically and on shutdown).

mod table;
#[cfg(test)]
mod tests;

use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use heed::types::{Bytes, U64};
use heed::{Database, Env, RoTxn, RwTxn};
use serde_json::{Map, Value};

pub use table::Table;

use super::{AgentId, Result};

/// Whose state a row is: an agent, or the manager itself (`000`, whose own modules report
/// through the local queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Owner(u32);

impl Owner {
    /// The manager (`000`).
    pub const MANAGER: Self = Self(0);

    /// The owner an event's agent id text (`000`, `001`, …) names.
    pub fn parse(id: &str) -> Option<Self> {
        if id == "000" {
            return Some(Self::MANAGER);
        }
        id.parse::<AgentId>().ok().map(Self::from)
    }

    /// The number behind the owner.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl From<AgentId> for Owner {
    fn from(id: AgentId) -> Self {
        Self(id.get())
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

/// Most rows one agent keeps in one table.
pub const MAX_ROWS: u64 = 1_000_000;

/// Virtual size of the state memory map.
const MAP_SIZE: usize = 16 << 30;

/// A row: column name → value, in Wazuh's column names.
pub type Row = Map<String, Value>;

/// The per-agent state databases. Cheap to clone.
#[derive(Clone)]
pub struct StateDb {
    env: Env,
    rows: Database<Bytes, Bytes>,
    counts: Database<Bytes, U64<heed::byteorder::BigEndian>>,
    refused: std::sync::Arc<AtomicU64>,
}

impl std::fmt::Debug for StateDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateDb").field("path", &self.env.path()).finish()
    }
}

/// The key of `agent`'s `table` rows.
fn prefix(agent: Owner, table: Table) -> [u8; 5] {
    let [a, b, c, d] = agent.get().to_be_bytes();
    [a, b, c, d, table as u8]
}

fn row_key(agent: Owner, table: Table, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(5 + key.len());
    k.extend_from_slice(&prefix(agent, table));
    k.extend_from_slice(key.as_bytes());
    k
}

fn decode(bytes: &[u8]) -> Option<Row> {
    serde_json::from_slice(bytes).ok()
}

impl StateDb {
    /// Opens (creating) the state environment in `dir`.
    pub(super) fn open(dir: &Path) -> heed::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let env = super::open_env(dir, MAP_SIZE, 4, super::Durability::Deferred)?;
        let mut wtxn = env.write_txn()?;
        let rows = env.create_database(&mut wtxn, Some("rows"))?;
        let counts = env.create_database(&mut wtxn, Some("counts"))?;
        wtxn.commit()?;
        Ok(Self { env, rows, counts, refused: Default::default() })
    }

    /// Runs `f` in one write transaction; it commits only if `f` succeeds.
    pub fn write<T>(&self, f: impl FnOnce(&mut StateWriter<'_>) -> Result<T>) -> Result<T> {
        let mut writer = StateWriter { db: self, txn: self.env.write_txn()? };
        let value = f(&mut writer)?;
        writer.txn.commit()?;
        Ok(value)
    }

    /// Starts a write transaction, committed by [`StateWriter::commit`] (dropped: aborted).
    pub fn begin(&self) -> Result<StateWriter<'_>> {
        Ok(StateWriter { db: self, txn: self.env.write_txn()? })
    }

    /// Runs `f` on one consistent snapshot.
    pub fn read<T>(&self, f: impl FnOnce(&StateReader<'_>) -> Result<T>) -> Result<T> {
        let txn = self.env.read_txn()?;
        f(&StateReader { db: self, txn: &txn })
    }

    /// Every row of `agent`'s `table`, in key order.
    pub fn rows(&self, agent: Owner, table: Table) -> Result<Vec<Row>> {
        self.read(|r| r.rows(agent, table))
    }

    /// Flushes committed changes to disk.
    pub fn sync(&self) -> Result<()> {
        Ok(self.env.force_sync()?)
    }

    /// Rows refused because their table was full, since start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Deletes the state of agents `known` says are gone (left by a crash between an agent's
    /// removal and its state's).
    pub(super) fn sweep(&self, known: impl Fn(AgentId) -> Result<bool>) -> Result<()> {
        let holders = self.read(|r| {
            let mut ids: Vec<AgentId> = Vec::new();
            for item in r.db.counts.iter(r.txn)? {
                let (key, _) = item?;
                let id = key.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()).map(u32::from_be_bytes);
                if let Some(id) = id.and_then(AgentId::new)
                    && ids.last() != Some(&id)
                {
                    ids.push(id);
                }
            }
            Ok(ids)
        })?;
        for id in holders {
            if !known(id)? {
                let n = self.forget(id.into())?;
                tracing::info!(agent = %id, rows = n, "state of a removed agent deleted");
            }
        }
        Ok(())
    }

    /// Deletes everything `agent` has.
    pub(super) fn forget(&self, agent: Owner) -> Result<usize> {
        self.write(|w| w.forget(agent))
    }
}

/// A consistent read snapshot of the state.
pub struct StateReader<'a> {
    db: &'a StateDb,
    txn: &'a RoTxn<'a>,
}

impl StateReader<'_> {
    /// Every row of `agent`'s `table`, in key order.
    pub fn rows(&self, agent: Owner, table: Table) -> Result<Vec<Row>> {
        rows(self.db, self.txn, agent, table)
    }

    /// One row.
    pub fn get(&self, agent: Owner, table: Table, key: &str) -> Result<Option<Row>> {
        Ok(self.db.rows.get(self.txn, &row_key(agent, table, key))?.and_then(decode))
    }

    /// How many rows `agent`'s `table` holds.
    pub fn count(&self, agent: Owner, table: Table) -> Result<u64> {
        Ok(self.db.counts.get(self.txn, &prefix(agent, table))?.unwrap_or(0))
    }
}

fn rows(db: &StateDb, txn: &RoTxn<'_>, agent: Owner, table: Table) -> Result<Vec<Row>> {
    let mut out = Vec::new();
    for item in db.rows.prefix_iter(txn, &prefix(agent, table))? {
        let (_, value) = item?;
        out.extend(decode(value));
    }
    Ok(out)
}

/// An open write transaction on the state.
pub struct StateWriter<'a> {
    db: &'a StateDb,
    txn: RwTxn<'a>,
}

impl StateWriter<'_> {
    /// Commits the transaction.
    pub fn commit(self) -> Result<()> {
        Ok(self.txn.commit()?)
    }

    /// One row.
    pub fn get(&self, agent: Owner, table: Table, key: &str) -> Result<Option<Row>> {
        Ok(self.db.rows.get(&self.txn, &row_key(agent, table, key))?.and_then(decode))
    }

    /// Every row of `agent`'s `table`, in key order.
    pub fn rows(&self, agent: Owner, table: Table) -> Result<Vec<Row>> {
        rows(self.db, &self.txn, agent, table)
    }

    /// How many rows `agent`'s `table` holds.
    pub fn count(&self, agent: Owner, table: Table) -> Result<u64> {
        Ok(self.db.counts.get(&self.txn, &prefix(agent, table))?.unwrap_or(0))
    }

    fn add_count(&mut self, agent: Owner, table: Table, delta: i64) -> Result<()> {
        let key = prefix(agent, table);
        let n = self.db.counts.get(&self.txn, &key)?.unwrap_or(0).saturating_add_signed(delta);
        if n == 0 {
            self.db.counts.delete(&mut self.txn, &key)?;
        } else {
            self.db.counts.put(&mut self.txn, &key, &n)?;
        }
        Ok(())
    }

    /// Inserts or replaces a row. `false` when the table is full and the row was new (the
    /// refusal is counted).
    pub fn put(&mut self, agent: Owner, table: Table, key: &str, row: &Row) -> Result<bool> {
        let k = row_key(agent, table, key);
        let bytes = serde_json::to_vec(row).unwrap_or_default();
        let existed = self.db.rows.get(&self.txn, &k)?.is_some();
        if !existed {
            if self.count(agent, table)? >= MAX_ROWS {
                self.db.refused.fetch_add(1, Ordering::Relaxed);
                return Ok(false);
            }
            self.add_count(agent, table, 1)?;
        }
        self.db.rows.put(&mut self.txn, &k, &bytes)?;
        Ok(true)
    }

    /// Deletes a row; `true` when it existed.
    pub fn delete(&mut self, agent: Owner, table: Table, key: &str) -> Result<bool> {
        let deleted = self.db.rows.delete(&mut self.txn, &row_key(agent, table, key))?;
        if deleted {
            self.add_count(agent, table, -1)?;
        }
        Ok(deleted)
    }

    /// Deletes every row of `agent`'s `table`; returns how many.
    pub fn clear(&mut self, agent: Owner, table: Table) -> Result<usize> {
        let p = prefix(agent, table);
        let end = next_prefix(&p);
        let n = self.db.rows.delete_range(&mut self.txn, &(Bound::Included(&p[..]), Bound::Excluded(&end[..])))?;
        self.db.counts.delete(&mut self.txn, &p)?;
        Ok(n)
    }

    /// The rows of `agent`'s `table` whose keys are within `first..=last`, with their keys.
    pub fn range(&self, agent: Owner, table: Table, first: &str, last: &str) -> Result<Vec<(String, Row)>> {
        let (lo, hi) = (row_key(agent, table, first), row_key(agent, table, last));
        let mut out = Vec::new();
        for item in self.db.rows.range(&self.txn, &(Bound::Included(&lo[..]), Bound::Included(&hi[..])))? {
            let (key, value) = item?;
            let key = String::from_utf8_lossy(&key[5..]).into_owned();
            out.extend(decode(value).map(|row| (key, row)));
        }
        Ok(out)
    }

    /// Deletes the rows of `agent`'s `table` whose keys are outside `first..=last`; returns how
    /// many.
    pub fn delete_outside(&mut self, agent: Owner, table: Table, first: &str, last: &str) -> Result<usize> {
        let p = prefix(agent, table);
        let (lo, hi, end) = (row_key(agent, table, first), row_key(agent, table, last), next_prefix(&p));
        let below = self.db.rows.delete_range(&mut self.txn, &(Bound::Included(&p[..]), Bound::Excluded(&lo[..])))?;
        let above = self.db.rows.delete_range(&mut self.txn, &(Bound::Excluded(&hi[..]), Bound::Excluded(&end[..])))?;
        let n = below + above;
        self.add_count(agent, table, -i64::try_from(n).unwrap_or(i64::MAX))?;
        Ok(n)
    }

    /// Deletes everything `agent` has; returns how many rows.
    pub fn forget(&mut self, agent: Owner) -> Result<usize> {
        let p = agent.get().to_be_bytes();
        let end = next_prefix(&p);
        let range = (Bound::Included(&p[..]), Bound::Excluded(&end[..]));
        let n = self.db.rows.delete_range(&mut self.txn, &range)?;
        self.db.counts.delete_range(&mut self.txn, &range)?;
        Ok(n)
    }
}

/// The smallest key greater than every key starting with `p` (`p` is never all `0xff`: its last
/// byte is a table code or an agent id below the maximum).
fn next_prefix(p: &[u8]) -> Vec<u8> {
    let mut end = p.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            break;
        }
    }
    end
}
