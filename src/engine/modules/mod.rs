//! analysisd's built-in decoders for what agent modules send (not XML decoders): Windows event
//! channel (`f`), FIM (`8`), state sync (`5`), rootcheck (`9`), SCA (`p`), inventory (`d`),
//! host info (`3`) and CIS-CAT (`e`). Each keeps its agent's state in the per-agent tables of
//! [`crate::store::state`] and decides, as Wazuh does, whether the message becomes an event for
//! the rules.

mod ciscat;
mod dbsync;
mod fim;
mod hostinfo;
mod json;
mod rootcheck;
mod sca;
mod syscollector;
mod winevt;

use super::event::Event;
use super::predecode::Predecoded;
use crate::ruleset::decoder::{Builtin, DecoderSet};
use crate::store::StoreError;
use crate::store::state::{Owner, StateWriter};

/// Whether messages of queue `q` go to a module decoder instead of the XML decoders.
pub fn handles(q: u8) -> bool {
    matches!(q, b'3' | b'5' | b'8' | b'9' | b'd' | b'e' | b'f' | b'p')
}

/// A message for an agent's module, sent on its connection as `#!-<text>` (or, for the
/// manager's own modules, to the local module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Whose module it is for.
    pub to: Owner,
    /// The text after `#!-`.
    pub text: String,
}

/// What a module message left besides state changes.
#[derive(Debug, Default)]
pub struct Effects {
    /// Messages for agents' modules.
    pub replies: Vec<Reply>,
    /// Operating systems inventory reported, for the agents' records.
    pub os: Vec<(Owner, crate::store::Os)>,
}

/// Why a module message was refused (counted and logged by the caller).
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// Not JSON, or JSON nested or sized past what is accepted.
    #[error("{module}: malformed JSON: {reason}")]
    Json {
        /// Which module.
        module: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// JSON without a member the module needs, or with one of the wrong type.
    #[error("{module}: {reason}")]
    Invalid {
        /// Which module.
        module: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The state store failed.
    #[error("state store: {0}")]
    Store(#[from] StoreError),
}

impl ModuleError {
    fn invalid(module: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid { module, reason: reason.into() }
    }
}

/// What became of a module message.
#[derive(Debug)]
pub enum Handled {
    /// An event for the rules.
    Event(Box<Event>),
    /// Stored (or ignored) with nothing for the rules, as analysisd does.
    Absorbed,
}

/// Where a module decoder works: the decoders (for the built-in ids), the state and what it
/// leaves.
pub struct Context<'a, 'w> {
    /// The ruleset's decoders.
    pub decoders: &'a DecoderSet,
    /// The state transaction of this batch.
    pub state: &'a mut StateWriter<'w>,
    /// Replies and agent updates.
    pub effects: &'a mut Effects,
    /// Receive time, Unix seconds.
    pub now: i64,
}

impl Context<'_, '_> {
    /// A new event over `pre`, taken by built-in decoder `b`.
    fn event(&self, pre: Predecoded, b: Builtin) -> Event {
        let mut event = Event::new(pre);
        event.decoder = self.decoders.builtin(b);
        event
    }
}

/// The location a module message names, after an agent's `(name) ip->` prefix.
fn module_location(pre: &Predecoded) -> &str {
    match pre.location.strip_prefix('(') {
        Some(_) => pre.location.split_once('>').map_or("", |(_, l)| l),
        None => pre.location.as_str(),
    }
}

/// Decodes one pre-decoded module message.
pub fn handle(ctx: &mut Context<'_, '_>, pre: Predecoded) -> Result<Handled, ModuleError> {
    let Some(owner) = Owner::parse(&pre.agent_id) else {
        return Err(ModuleError::invalid("modules", format!("invalid agent id '{}'", pre.agent_id)));
    };
    match pre.queue {
        b'f' => winevt::decode(ctx, pre),
        b'8' => fim::decode(ctx, owner, pre),
        b'5' => dbsync::dispatch(ctx, owner, &pre),
        b'9' => rootcheck::decode(ctx, owner, pre),
        b'p' => sca::decode(ctx, owner, pre),
        b'd' => syscollector::decode(ctx, owner, pre),
        b'3' => hostinfo::decode(ctx, owner, pre),
        b'e' => ciscat::decode(ctx, owner, pre),
        other => Err(ModuleError::invalid("modules", format!("queue '{}' has no module decoder", other as char))),
    }
}
