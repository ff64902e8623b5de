//! The hot path: pre-decoding, decoding, rules and alerts for one event.

pub mod accumulate;
pub mod alert;
pub mod correlate;
pub mod decode;
pub mod describe;
mod diff;
pub mod emit;
pub mod enrich;
pub mod event;
mod fts;
pub mod live;
pub mod modules;
pub mod plugins;
pub mod predecode;
pub mod rules;
mod text;
pub(crate) mod time;
pub mod watch;

use std::sync::Mutex;

use accumulate::Accumulator;
use alert::AlertId;
use alert::json::{Alert, Fired, Origin, RuleJson, alert_json};
use correlate::Limits;
use decode::{Hooks, Tried};
use event::Event;
use predecode::PredecodeError;
use rules::{Input, Mode, RuleState, Verdict};

use crate::ruleset::Ruleset;
use crate::ruleset::decoder::{Decoder, DecoderId, DecoderType};
use crate::ruleset::prefilter::{Engine as PrefilterEngine, Hits, Prefilter, PrefilterError};
use crate::ruleset::regex::Haystack;

/// A compiled ruleset ready to process events, shared by every worker.
#[derive(Debug)]
pub struct Engine {
    ruleset: Ruleset,
    prefilter: Option<Prefilter>,
    shared: Session,
    manager_host: String,
    /// The fixed part of each rule's alert JSON, rendered on first use.
    rule_json: Vec<std::sync::OnceLock<RuleJson>>,
}

/// The state events change as they pass: rule counters, correlation memory, FTS, diffs and
/// the accumulator. The server has one, shared by its workers; each logtest session has its
/// own (engine.md §11).
#[derive(Debug)]
pub struct Session {
    /// Rule state.
    pub rules: RuleState,
    accumulator: Mutex<Accumulator>,
}

impl Session {
    /// Fresh state for `ruleset`.
    pub fn new(ruleset: &Ruleset, limits: Limits) -> Self {
        Self { rules: RuleState::new(&ruleset.rules, limits), accumulator: Mutex::new(Accumulator::default()) }
    }
}

/// How an outcome becomes JSON.
#[derive(Debug, Clone, Copy)]
pub struct Render {
    /// Receive time: Unix seconds and milliseconds.
    pub time: (i64, u32),
    /// The alert id, when there is one.
    pub id: Option<AlertId>,
    /// analysisd's or logtest's way of showing level-0 matches.
    pub mode: Mode,
    /// An archives.json line (always with `full_log`).
    pub archive: bool,
}

/// One event through decoders and rules.
#[derive(Debug)]
pub struct Outcome {
    /// The decoded event.
    pub event: Event,
    /// Its decoder type (what rule categories compare with).
    pub kind: DecoderType,
    /// What the rules decided.
    pub verdict: Verdict,
    /// analysisd discarded the event before the rules: a firewall event lacking one of
    /// action, srcip, dstip, srcport, dstport or protocol (`analysisd.log_fw`).
    pub dropped: bool,
}

impl Hooks for Hits<'_> {
    fn may_match(&self, id: DecoderId) -> bool {
        Hits::may_match(self, id)
    }

    fn program_matches(&self, position: usize) -> Option<bool> {
        Hits::program_matches(self, position)
    }
}

/// Whether a firewall event has every field analysisd's firewall path needs.
fn firewall_complete(event: &Event) -> bool {
    use crate::ruleset::decoder::StaticField as F;
    [F::Action, F::SrcIp, F::DstIp, F::SrcPort, F::DstPort, F::Protocol].iter().all(|f| event.get(*f).is_some())
}

impl Engine {
    /// An engine over `ruleset`, with a decoder prefilter on `prefilter`'s engine (or none).
    pub fn new(
        ruleset: Ruleset,
        prefilter: Option<PrefilterEngine>,
        manager_host: &str,
    ) -> Result<Self, PrefilterError> {
        let prefilter = prefilter.map(|p| Prefilter::new(&ruleset.decoders, p)).transpose()?;
        Ok(Self::assemble(ruleset, prefilter, manager_host))
    }

    /// An engine over `ruleset` with the best prefilter that builds: Hyperscan, else the
    /// pure-Rust Aho-Corasick scanner (the reason is logged).
    pub fn with_best_prefilter(ruleset: Ruleset, manager_host: &str) -> Result<Self, PrefilterError> {
        let prefilter = match Prefilter::new(&ruleset.decoders, PrefilterEngine::Hyperscan) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("{e}; using the Aho-Corasick prefilter");
                Prefilter::new(&ruleset.decoders, PrefilterEngine::AhoCorasick)?
            }
        };
        Ok(Self::assemble(ruleset, Some(prefilter), manager_host))
    }

    fn assemble(ruleset: Ruleset, prefilter: Option<Prefilter>, manager_host: &str) -> Self {
        // Wazuh uses the short host name (up to the first dot).
        let short = manager_host.split('.').next().unwrap_or(manager_host).to_owned();
        let shared = Session::new(&ruleset, Limits::default());
        let rule_json = (0..ruleset.rules.len()).map(|_| std::sync::OnceLock::new()).collect();
        Self { ruleset, prefilter, shared, manager_host: short, rule_json }
    }

    /// Replaces the shared state with a fresh one under `limits` (before serving).
    pub fn set_limits(&mut self, limits: Limits) {
        self.shared = Session::new(&self.ruleset, limits);
    }

    /// The server's shared state.
    pub fn shared(&self) -> &Session {
        &self.shared
    }

    /// The decoder that took `event`.
    pub fn decoder_of(&self, event: &Event) -> Option<&Decoder> {
        event.decoder.map(|id| self.ruleset.decoders.get(id))
    }

    /// The decoder type of `event`: a plugin's override, else its decoder's, else syslog.
    pub fn kind(&self, event: &Event) -> DecoderType {
        event.kind_override.or_else(|| self.decoder_of(event).map(|d| d.kind)).unwrap_or_default()
    }

    /// Decodes one queue message and evaluates the rules on it, with `session`'s state, at Unix
    /// time `now`; `trace` collects the rule trace.
    pub fn process(
        &self,
        session: &Session,
        raw: &[u8],
        now: i64,
        mode: Mode,
        trace: bool,
    ) -> Result<Outcome, PredecodeError> {
        let (event, _) = self.decode_in(session, raw, now)?;
        let kind = self.kind(&event);
        if mode == Mode::Analysisd && kind == DecoderType::Firewall && !firewall_complete(&event) {
            return Ok(Outcome { event, kind, verdict: Verdict::default(), dropped: true });
        }
        let input = Input { event: &event, decoder: self.decoder_of(&event), kind, now };
        let verdict = rules::evaluate(&self.ruleset.rules, &self.ruleset.lists, &session.rules, input, mode, trace);
        Ok(Outcome { event, kind, verdict, dropped: false })
    }

    /// Evaluates the rules on an event a module decoder made, with `session`'s state at Unix
    /// time `now` (analysisd's path: module events are never firewall events).
    pub fn evaluate(&self, session: &Session, event: Event, now: i64, mode: Mode) -> Outcome {
        let kind = self.kind(&event);
        let input = Input { event: &event, decoder: self.decoder_of(&event), kind, now };
        let verdict = rules::evaluate(&self.ruleset.rules, &self.ruleset.lists, &session.rules, input, mode, false);
        Outcome { event, kind, verdict, dropped: false }
    }

    /// Decodes a module message (`modules::handles` its queue) into `state` and, when it makes
    /// an event, evaluates the rules on it.
    pub fn process_module(
        &self,
        state: &mut crate::store::state::StateWriter<'_>,
        effects: &mut modules::Effects,
        raw: &[u8],
        now: i64,
    ) -> Result<Option<Outcome>, modules::ModuleError> {
        let pre = predecode::predecode(raw, &self.manager_host)
            .map_err(|e| modules::ModuleError::Invalid { module: "predecode", reason: e.to_string() })?;
        let mut ctx = modules::Context { decoders: &self.ruleset.decoders, state, effects, now };
        Ok(match modules::handle(&mut ctx, pre)? {
            modules::Handled::Event(event) => Some(self.evaluate(&self.shared, *event, now, Mode::Analysisd)),
            modules::Handled::Absorbed => None,
        })
    }

    /// The alert JSON of `outcome` as `how` says (receive time, id, whose semantics, archive
    /// or alert). MITRE lookup problems go to `warnings`.
    pub fn alert_json(&self, origin: Origin<'_>, outcome: &Outcome, how: Render, warnings: &mut Vec<String>) -> String {
        let Render { time, id, mode, archive } = how;
        let event = &outcome.event;
        let verdict = &outcome.verdict;
        let rule = verdict.rule.map(|r| (self.ruleset.rules.rule(r), self.rule_json(r)));
        let description = rule.map(|(r, _)| describe::describe(&r.description, event));
        let fired = rule.zip(description.as_deref()).map(|((rule, json), description)| Fired {
            rule,
            json,
            description,
            fired_times: verdict.fired_times,
            level_last: mode == Mode::Logtest,
        });
        let alert = Alert {
            time,
            id,
            event,
            decoder: self.decoder_of(event),
            fired,
            last_events: &verdict.last_events,
            previous_log: verdict.previous_log.as_deref(),
            force_full_log: archive,
        };
        alert_json(origin, &alert, warnings)
    }

    /// The fixed part of rule `id`'s alert JSON.
    fn rule_json(&self, id: crate::ruleset::rule::RuleId) -> &RuleJson {
        self.rule_json[id.index()].get_or_init(|| RuleJson::new(self.ruleset.rules.rule(id), &self.ruleset.mitre))
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
        self.decode_in(&self.shared, raw, now)
    }

    /// [`Engine::decode`] with `session`'s accumulator.
    pub fn decode_in(&self, session: &Session, raw: &[u8], now: i64) -> Result<(Event, Tried), PredecodeError> {
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
            let mut acc = crate::sync::lock(&session.accumulator);
            acc.apply(&mut event, &d.name, now);
        }
        Ok((event, tried))
    }
}
