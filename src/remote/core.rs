//! What every connection on a data-plane core shares: the store, the core's key table, the
//! engine, the counters and the registry of connected agents.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::commands::Commands;
use super::keys::KeyTable;
use super::live::LiveAgents;
use super::shared::SharedFiles;
use super::stats::Stats;
use super::status::StatusWriter;
use crate::secmsg::{self, AgentKeys, Cipher, Counters, SecError};
use crate::server::queue::Sink;
use crate::store::Store;

/// What the manager answers a start-up and every keepalive with.
pub const ACK: &[u8] = b"#!-agent ack ";

/// The manager's send counters, one pair for all agents (protocol.md §2.8).
#[derive(Debug, Default)]
pub struct SendCounter(AtomicU64);

impl SendCounter {
    /// The pair for the next message: local runs 1..=9997, then the global moves on.
    pub fn next(&self) -> Counters {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        Counters { global: n / 9997, local: (n % 9997) as u32 + 1 }
    }

    /// `payload` sealed for an agent with `keys` in `cipher`, under the next counters, framed
    /// (never `!id!`-prefixed: the manager does not prefix).
    pub fn seal(&self, keys: &AgentKeys, cipher: Cipher, payload: &[u8]) -> Result<Vec<u8>, SecError> {
        let random = (getrandom::u32().unwrap_or(0) % 65536) as u16;
        secmsg::seal_frame(keys, cipher, self.next(), random, payload, None)
    }
}

/// What every connection on one core shares.
pub struct Core {
    /// The agent store.
    pub store: Store,
    /// This core's copy of the key table.
    pub keys: RefCell<KeyTable>,
    /// Where status changes go.
    pub status: StatusWriter,
    /// The engine and the alert files.
    pub sink: Arc<Sink>,
    /// The manager's send counters.
    pub counters: Arc<SendCounter>,
    /// The service's counters.
    pub stats: Arc<Stats>,
    /// Requests waiting for agents' answers.
    pub commands: Arc<Commands>,
    /// Accept agents newer than the manager.
    pub allow_higher_versions: bool,
    /// Groups' merged.mg files.
    pub shared: Arc<SharedFiles>,
    /// Which connection holds each agent.
    pub live: Arc<LiveAgents>,
    /// Time to send a first frame, or to finish a frame begun.
    pub frame_timeout: Duration,
    /// Where this core says it is alive.
    pub beats: Arc<super::beats::Beats>,
    /// This core's number.
    pub worker: usize,
}

/// Why a message is refused (and its connection closed): a counted reason and a detail.
pub type Close = (&'static str, String);
