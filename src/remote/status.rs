//! What connections learn about their agents (start-up, keepalives, shutdown) written to the
//! store by one thread, many updates per transaction, so 10,000 agents' keepalives cost a few
//! commits a second, not one each.

use std::net::IpAddr;
use std::sync::mpsc;

use tracing::error;

use super::keepalive::Keepalive;
use crate::store::{Agent, AgentId, Status, Store};

/// Most updates in one transaction.
const MAX_BATCH: usize = 4096;

/// One change to an agent's record.
#[derive(Debug, Clone)]
pub enum Update {
    /// `#!-agent startup`: pending, with the version it announced.
    Started {
        /// The agent.
        id: AgentId,
        /// `v4.14.7`, when announced.
        version: Option<String>,
        /// Where it connected from.
        peer: IpAddr,
    },
    /// A keepalive: active, with what it said.
    Keepalive {
        /// The agent.
        id: AgentId,
        /// The parsed text.
        keepalive: Box<Keepalive>,
        /// Where it connected from.
        peer: IpAddr,
        /// It holds its group's current merged.mg.
        synced: bool,
    },
    /// `#!-agent shutdown`: disconnected.
    Stopped {
        /// The agent.
        id: AgentId,
    },
}

impl Update {
    fn id(&self) -> AgentId {
        match self {
            Self::Started { id, .. } | Self::Keepalive { id, .. } | Self::Stopped { id } => *id,
        }
    }

    /// Applies the change to the record, as wazuh-db's `agent.connection_status` moves.
    fn apply(self, agent: &mut Agent, now: i64) {
        match self {
            Self::Started { version, peer, .. } => {
                agent.status = Status::Pending;
                agent.last_keepalive = Some(now);
                agent.disconnected_at = None;
                agent.last_ip = Some(peer.to_string());
                if let Some(v) = version {
                    agent.version = Some(format!("Wazuh {v}"));
                }
            }
            Self::Keepalive { keepalive, peer, synced, .. } => {
                let k = *keepalive;
                agent.status = Status::Active;
                agent.last_keepalive = Some(now);
                agent.disconnected_at = None;
                agent.last_ip = Some(k.agent_ip.unwrap_or_else(|| peer.to_string()));
                agent.os = k.os;
                agent.version = k.version.or(agent.version.take());
                agent.config_sum = k.config_sum;
                agent.merged_sum = k.merged_sum;
                agent.config_synced = synced;
                agent.labels = k.labels;
            }
            Self::Stopped { .. } => {
                agent.status = Status::Disconnected;
                agent.disconnected_at = Some(now);
            }
        }
    }
}

/// The handle connections send updates through.
#[derive(Debug, Clone)]
pub struct StatusWriter {
    updates: mpsc::Sender<Update>,
}

impl StatusWriter {
    /// Starts the writer thread; it ends when every handle is dropped.
    pub fn spawn(store: Store) -> std::io::Result<Self> {
        let (updates, queue) = mpsc::channel();
        std::thread::Builder::new().name("vigil-agent-status".into()).spawn(move || run(&queue, &store))?;
        Ok(Self { updates })
    }

    /// Queues an update.
    pub fn send(&self, update: Update) {
        // The writer only stops at shutdown.
        let _ = self.updates.send(update);
    }
}

fn run(queue: &mpsc::Receiver<Update>, store: &Store) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(update) => batch.push(update),
                Err(_) => break,
            }
        }
        let now = crate::server::now();
        let written = store.write(|w| {
            for update in batch.drain(..) {
                let id = update.id();
                // An agent removed meanwhile has nothing left to update.
                if w.agent(id)?.is_some() {
                    w.update(id, |agent| update.apply(agent, now))?;
                }
            }
            Ok(())
        });
        if let Err(e) = written {
            error!("cannot record agent status: {e}");
        }
    }
}
