//! The hot path: pre-decoding, decoding, rules and alerts for one event.

pub mod accumulate;
pub mod alert;
pub mod decode;
pub mod describe;
pub mod enrich;
pub mod event;
pub mod plugins;
pub mod predecode;
mod text;

use std::sync::Mutex;

use accumulate::Accumulator;
use decode::{Hooks, Tried};
use event::Event;
use predecode::PredecodeError;

use crate::ruleset::Ruleset;
use crate::ruleset::decoder::DecoderId;
use crate::ruleset::prefilter::{Engine as PrefilterEngine, Hits, Prefilter, PrefilterError};
use crate::ruleset::regex::Haystack;

/// A compiled ruleset ready to process events, shared by every worker.
#[derive(Debug)]
pub struct Engine {
    ruleset: Ruleset,
    prefilter: Option<Prefilter>,
    accumulator: Mutex<Accumulator>,
    manager_host: String,
}

impl Hooks for Hits<'_> {
    fn may_match(&self, id: DecoderId) -> bool {
        Hits::may_match(self, id)
    }

    fn program_matches(&self, position: usize) -> Option<bool> {
        Hits::program_matches(self, position)
    }
}

impl Engine {
    /// An engine over `ruleset`, with a decoder prefilter on `prefilter`'s engine (or none).
    pub fn new(
        ruleset: Ruleset,
        prefilter: Option<PrefilterEngine>,
        manager_host: &str,
    ) -> Result<Self, PrefilterError> {
        let prefilter = prefilter.map(|p| Prefilter::new(&ruleset.decoders, p)).transpose()?;
        // Wazuh uses the short host name (up to the first dot).
        let short = manager_host.split('.').next().unwrap_or(manager_host).to_owned();
        Ok(Self { ruleset, prefilter, accumulator: Mutex::new(Accumulator::default()), manager_host: short })
    }

    /// The ruleset.
    pub fn ruleset(&self) -> &Ruleset {
        &self.ruleset
    }

    /// The prefilter, when there is one.
    pub fn prefilter(&self) -> Option<&Prefilter> {
        self.prefilter.as_ref()
    }

    /// Pre-decodes and decodes one queue message (`<q>:<location>:<message>`) at Unix time
    /// `now`, running the accumulator for decoders that ask for it.
    pub fn decode(&self, raw: &[u8], now: i64) -> Result<(Event, Tried), PredecodeError> {
        let pre = predecode::predecode(raw, &self.manager_host)?;
        let mut event = Event::new(pre);
        let decoders = &self.ruleset.decoders;
        let tried = match &self.prefilter {
            Some(p) => decode::with_log(&mut event, |event, log| {
                let haystack = Haystack::new(log.as_bytes());
                let subject = haystack.subject();
                let hits = p.scan(decoders, subject, event.pre.program_name.as_deref());
                decode::decode_log(decoders, event, log, &subject, &hits)
            }),
            None => decode::decode(decoders, &mut event, &decode::NoHooks),
        };
        if let Some(d) = event.decoder.map(|id| decoders.get(id)).filter(|d| d.accumulate) {
            // A poisoned lock only means another worker panicked mid-update; the map is usable.
            let mut acc = self.accumulator.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            acc.apply(&mut event, &d.name, now);
        }
        Ok((event, tried))
    }
}
