//! Module messages (FIM, inventory, SCA, …) in a batch of events: their state changes go into
//! one transaction per batch, committed before the batch's alerts are written, and what they
//! leave (answers to agents' modules, the agents' OS) is delivered after the commit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use tracing::{debug, warn};

use crate::engine::modules::{Effects, ModuleError};
use crate::engine::{Engine, Outcome};
use crate::remote::commands::{Commands, Kind};
use crate::store::state::{Owner, StateWriter};
use crate::store::{AgentId, Store};

/// The module queues and the names analysisd's statistics give their counts.
pub const QUEUES: [(u8, &str); 8] = [
    (b'8', "syscheck"),
    (b'5', "dbsync"),
    (b'9', "rootcheck"),
    (b'p', "sca"),
    (b'd', "syscollector"),
    (b'f', "winevt"),
    (b'3', "hostinfo"),
    (b'e', "ciscat"),
];

/// The state store and the agents' connections module messages need.
#[derive(Debug, Default)]
pub struct ModuleSink {
    store: Option<Store>,
    commands: OnceLock<Arc<Commands>>,
    /// Module messages refused (malformed, invalid, or the store failed).
    pub refused: AtomicU64,
    /// Module messages stored.
    pub stored: AtomicU64,
    /// Messages decoded per module queue, in [`QUEUES`]' order.
    decoded: [AtomicU64; QUEUES.len()],
}

/// One batch's open transaction and what it left.
#[derive(Default)]
pub struct Batch<'s> {
    txn: Option<StateWriter<'s>>,
    effects: Effects,
}

impl ModuleSink {
    /// Module state kept in `store` (none: module messages are refused).
    pub fn new(store: Option<Store>) -> Self {
        Self { store, ..Self::default() }
    }

    /// Answers reach agents through `commands` from now on.
    pub fn connect(&self, commands: Arc<Commands>) {
        let _ = self.commands.set(commands);
    }

    /// Decodes one module message into `batch`; `None` when it made no event (or was refused,
    /// which is counted and logged).
    pub fn process<'s>(&'s self, engine: &Engine, batch: &mut Batch<'s>, raw: &[u8], now: i64) -> Option<Outcome> {
        let result = self.open(&mut batch.txn).and_then(|txn| engine.process_module(txn, &mut batch.effects, raw, now));
        match result {
            Ok(outcome) => {
                self.stored.fetch_add(1, Ordering::Relaxed);
                if let Some(i) = QUEUES.iter().position(|(q, _)| raw.first() == Some(q)) {
                    self.decoded[i].fetch_add(1, Ordering::Relaxed);
                }
                outcome
            }
            Err(e) => {
                let n = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
                warn!(refused = n, "module message dropped: {e}");
                None
            }
        }
    }

    /// The batch's transaction, begun on first use.
    fn open<'b, 's>(&'s self, txn: &'b mut Option<StateWriter<'s>>) -> Result<&'b mut StateWriter<'s>, ModuleError> {
        let Some(store) = &self.store else {
            return Err(ModuleError::Invalid { module: "modules", reason: "no state store".into() });
        };
        if txn.is_none() {
            *txn = Some(store.state().begin()?);
        }
        txn.as_mut().ok_or_else(|| ModuleError::Invalid { module: "modules", reason: "no transaction".into() })
    }

    /// Rows refused because an agent's table was full.
    pub fn state_refused(&self) -> u64 {
        self.store.as_ref().map_or(0, |s| s.state().refused())
    }

    /// Messages decoded so far, per module (analysisd's names).
    pub fn decoded(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        QUEUES.iter().zip(&self.decoded).map(|((_, name), n)| (*name, n.load(Ordering::Relaxed)))
    }

    /// Commits the batch's state, then sends its answers and fills the OS fields agents' records
    /// lack from their inventory.
    pub fn finish(&self, batch: Batch<'_>) {
        let Batch { txn, effects } = batch;
        if let Some(txn) = txn
            && let Err(e) = txn.commit()
        {
            warn!("module state not saved: {e}");
            return;
        }
        for reply in effects.replies {
            let Some(agent) = agent(reply.to) else {
                debug!("answer for the manager's own module dropped: {}", reply.text);
                continue;
            };
            match self.commands.get() {
                Some(commands) => {
                    let _ = commands.send(agent, format!("#!-{}", reply.text).as_bytes(), Kind::Control);
                }
                None => debug!(agent = %agent, "no agent connections: answer dropped"),
            }
        }
        if let Some(store) = &self.store {
            for (owner, os) in effects.os {
                let Some(agent) = agent(owner) else { continue };
                let lacking = store.agent(agent).ok().flatten().is_some_and(|a| a.os.clone().fill_from(&os));
                if !lacking {
                    continue;
                }
                let filled = store.write(|w| {
                    w.update(agent, |a| {
                        a.os.fill_from(&os);
                    })
                    .map(|_| ())
                });
                if let Err(e) = filled {
                    debug!(agent = %agent, "OS inventory not recorded on the agent: {e}");
                }
            }
        }
    }
}

fn agent(owner: Owner) -> Option<AgentId> {
    AgentId::new(owner.get())
}
