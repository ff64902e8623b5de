//! Rule evaluation (engine.md §5.4): the walk over the tree for one decoded event, the checks
//! of each rule in Wazuh's order, and what follows a match (level 0, ignore windows, storing
//! the event for correlation). analysisd and logtest differ after the match; [`Mode`] says
//! which one a caller gets (engine.md §11).

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use super::correlate::{Correlator, Limits, Trail};
use super::diff::Diffs;
use super::event::Event;
use super::fts::{self, Fts};
use crate::ruleset::decoder::{Decoder, DecoderType, StaticField};
use crate::ruleset::lists::Lists;
use crate::ruleset::regex::Haystack;
use crate::ruleset::rule::ip::found_in;
use crate::ruleset::rule::pattern::Pattern;
use crate::ruleset::rule::{NodeId, Rule, RuleId, RuleTree, Siblings};
use crate::sync::lock;

/// Whose post-match semantics to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `vigil serve`, as analysisd: level 0 ends with no rule, `ignore` falls back to the parent.
    Analysisd,
    /// `vigil logtest`, as wazuh-logtest: level-0 matches are reported, `ignore` resets.
    Logtest,
}

/// Per-ruleset mutable state: counters, ignore windows, correlation, FTS and diffs. One for
/// the server; one per logtest session.
#[derive(Debug)]
pub struct RuleState {
    fired: Vec<AtomicU32>,
    ignored_at: Vec<AtomicI64>,
    correlator: Correlator,
    fts: Mutex<Fts>,
    diffs: Mutex<Diffs>,
}

impl RuleState {
    /// Fresh state for `tree`.
    pub fn new(tree: &RuleTree, limits: Limits) -> Self {
        let n = tree.len();
        Self {
            fired: (0..n).map(|_| AtomicU32::new(0)).collect(),
            ignored_at: (0..n).map(|_| AtomicI64::new(0)).collect(),
            correlator: Correlator::new(tree, limits),
            fts: Mutex::new(Fts::default()),
            diffs: Mutex::new(Diffs::default()),
        }
    }

    /// Correlation keys dropped by the per-rule limit.
    pub fn evicted_keys(&self) -> u64 {
        self.correlator.evicted_keys()
    }
}

/// The decoded event and what rule evaluation needs besides the ruleset.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The event.
    pub event: &'a Event,
    /// The decoder that took it.
    pub decoder: Option<&'a Decoder>,
    /// Its type (the decoder's, or one a plugin set).
    pub kind: DecoderType,
    /// Receive time, Unix seconds.
    pub now: i64,
}

/// What rule evaluation decided.
#[derive(Debug, Default)]
pub struct Verdict {
    /// The rule the event is reported with (analysisd: none for level 0 or a dropped event).
    pub rule: Option<RuleId>,
    /// The matched rule's `firedtimes` after this event.
    pub fired_times: Option<u32>,
    /// The event was stored for correlation (logtest's `check_add_event`; an alert for
    /// analysisd when the rule logs).
    pub stored: bool,
    /// `full_log` of the previous events that made a correlation rule fire.
    pub last_events: Vec<Arc<str>>,
    /// The previous log of a `check_diff` rule.
    pub previous_log: Option<String>,
    /// Rule trace (`-v`), when asked for.
    pub trace: Option<Vec<String>>,
}

struct Walk<'a> {
    tree: &'a RuleTree,
    lists: &'a Lists,
    state: &'a RuleState,
    input: Input<'a>,
    log: Haystack<'a>,
    /// The program name and its lowercase copy, made once for all the rules that test it.
    program: Option<Haystack<'a>>,
    trail: Trail,
    prev_rule: Option<RuleId>,
    fired: Option<u32>,
    previous_log: Option<String>,
    trace: Option<Vec<String>>,
    clock: Option<(String, u8)>,
    /// Reused for the lowercase copies of field values.
    scratch: Vec<u8>,
}

/// Evaluates the rules for one event.
pub fn evaluate(
    tree: &RuleTree,
    lists: &Lists,
    state: &RuleState,
    input: Input<'_>,
    mode: Mode,
    trace: bool,
) -> Verdict {
    let mut walk = Walk {
        tree,
        lists,
        state,
        input,
        log: Haystack::new(input.event.pre.log.as_bytes()),
        program: input.event.pre.program_name.as_deref().map(|p| Haystack::new(p.as_bytes())),
        trail: Trail::default(),
        prev_rule: None,
        fired: None,
        previous_log: None,
        trace: trace.then(Vec::new),
        clock: None,
        scratch: Vec::new(),
    };
    let matched = if input.kind == DecoderType::OssecAlert {
        // The event carries a finished alert: its rule is taken as is.
        input.event.preset_rule.as_deref().and_then(|sid| sid.parse().ok()).and_then(|sid| tree.find(sid))
    } else {
        tree.top().iter().filter(|n| tree.rule(tree.node(**n).rule).category == input.kind).find_map(|&n| walk.check(n))
    };
    let mut verdict = Verdict { trace: walk.trace.take(), ..Verdict::default() };
    let Some(mut rule_id) = matched else {
        return verdict;
    };
    verdict.fired_times = walk.fired;
    let rule = tree.rule(rule_id);
    // logtest reports the matched rule even when it makes no alert (level 0, ignore window).
    if mode == Mode::Logtest {
        verdict.rule = Some(rule_id);
    }
    if rule.level == 0 {
        return verdict;
    }
    if rule.ignore_time > 0 {
        let ignored_at = &state.ignored_at[rule_id.index()];
        let since = ignored_at.load(Ordering::Relaxed);
        let now = input.now;
        if since == 0 {
            ignored_at.store(now, Ordering::Relaxed);
        } else if now - since < i64::from(rule.ignore_time) {
            match (mode, walk.prev_rule) {
                (Mode::Analysisd, Some(parent)) => {
                    rule_id = parent;
                    walk.trail.last_events.clear();
                }
                _ => return verdict,
            }
        } else {
            ignored_at.store(if mode == Mode::Logtest { 0 } else { now }, Ordering::Relaxed);
        }
    }
    // `check_if_ignored` compares lines Wazuh stores with a newline against a key without
    // one, so it never drops an event there; vigil keeps that behaviour (engine.md §12.2).
    verdict.rule = Some(rule_id);
    verdict.stored = true;
    state.correlator.store(tree, rule_id, input.event, input.kind, input.now, walk.trail.matched);
    verdict.last_events = walk.trail.last_events;
    verdict.previous_log = walk.previous_log;
    verdict
}

impl Walk<'_> {
    fn note(&mut self, message: impl FnOnce() -> String) {
        if let Some(trace) = &mut self.trace {
            trace.push(message());
        }
    }

    /// `OS_CheckIfRuleMatch`.
    fn check(&mut self, node: NodeId) -> Option<RuleId> {
        let tree = self.tree;
        let id = tree.node(node).rule;
        let rule = tree.rule(id);
        self.note(|| format!("Trying rule: {} - {}", rule.sid, rule.description));
        if !self.passes(id, rule) {
            return None;
        }
        self.note(|| format!("*Rule {} matched", rule.sid));
        let children = &tree.node(node).children;
        if !children.is_empty() {
            self.note(|| "*Trying child rules".to_owned());
            // The rule trace lists every child tried, so it walks them all.
            let siblings = match self.trace {
                Some(_) => Siblings { all: children, positions: None, sieve: None },
                None => tree.children_for(node, self.input.decoder.map(|d| &*d.name)),
            };
            let possible = siblings.sieve.map(|(s, ranks)| (s.possible(self.log.subject().lower()), ranks));
            let count = siblings.positions.map_or(children.len(), <[u32]>::len);
            for k in 0..count {
                let i = siblings.positions.map_or(k, |p| p[k] as usize);
                if let Some((possible, ranks)) = &possible
                    && possible.get(ranks[i] as usize) == Some(&false)
                {
                    continue;
                }
                let child = children[i];
                if let Some(found) = self.check(child) {
                    self.prev_rule.get_or_insert(id);
                    return Some(found);
                }
            }
        }
        if rule.noalert {
            return None;
        }
        let fired = self.state.fired[id.index()].fetch_add(1, Ordering::Relaxed) + 1;
        self.fired = Some(fired);
        Some(id)
    }

    fn passes(&mut self, id: RuleId, rule: &Rule) -> bool {
        let input = self.input;
        let event = input.event;
        let c = &rule.conditions;
        if let Some(name) = &c.decoded_as
            && input.decoder.is_none_or(|d| *d.name != **name)
        {
            return false;
        }
        // No side effect but a cached clock, so it may run before the checks it follows in C.
        let timely = self.on_time(rule);
        let scratch = &mut self.scratch;
        let mut text = |p: Option<&Pattern>, value: Option<&str>| p.is_none_or(|p| on_text(p, value, scratch));
        let log = &self.log;
        let on_log = |p: &Option<Box<Pattern>>| p.as_deref().is_none_or(|p| p.matches(&log.subject()));
        let program = &self.program;
        let ok = c.program_name.as_ref().is_none_or(|p| program.as_ref().is_some_and(|h| p.matches(&h.subject())))
            && text(c.id.as_deref(), event.get(StaticField::Id))
            && text(c.system_name.as_deref(), event.get(StaticField::SystemName))
            && text(c.protocol.as_deref(), event.get(StaticField::Protocol))
            && on_log(&c.matches)
            && on_log(&c.regex)
            && text(c.action.as_deref(), event.get(StaticField::Action))
            && text(c.url.as_deref(), event.get(StaticField::Url))
            && text(c.location.as_deref(), Some(&event.pre.location))
            && c.fields.iter().all(|(name, p)| text(Some(p), event.field(name)))
            && ip(&c.srcip, event.get(StaticField::SrcIp))
            && ip(&c.dstip, event.get(StaticField::DstIp))
            && text(c.srcport.as_deref(), event.get(StaticField::SrcPort))
            && text(c.dstport.as_deref(), event.get(StaticField::DstPort))
            && c.compiled.is_none_or(|f| f.passes(event))
            && text(c.user.as_deref(), event.get(StaticField::DstUser).or_else(|| event.get(StaticField::SrcUser)))
            && text(c.srcgeoip.as_deref(), None)
            && text(c.dstgeoip.as_deref(), None)
            && event.pre.log.len() >= c.maxsize;
        if !ok || !timely {
            return false;
        }
        let ok = text(c.data.as_deref(), event.get(StaticField::Data))
            && text(c.extra_data.as_deref(), event.get(StaticField::ExtraData))
            && text(c.hostname.as_deref(), Some(&event.pre.hostname))
            && text(c.status.as_deref(), event.get(StaticField::Status));
        if !ok {
            return false;
        }
        if c.check_diff {
            match lock(&self.state.diffs).changed(event, rule.sid) {
                Some(previous) => {
                    self.trail.last_events = vec![Arc::from("Previous output:"), Arc::from(previous.as_str())];
                    self.previous_log = Some(previous);
                }
                None => return false,
            }
        }
        if c.fts {
            let Some(key) = input.decoder.and_then(|d| fts::key(d, event)) else {
                return false;
            };
            if !lock(&self.state.fts).first_time(key, input.kind) {
                return false;
            }
        }
        if !c.lists.iter().all(|l| l.matches(self.lists, event)) {
            return false;
        }
        if rule.context && !c.check_diff {
            return self.state.correlator.search(id, rule, event, input.kind, input.now, &mut self.trail);
        }
        true
    }

    /// `time` and `weekday`, on the local clock at receive time.
    fn on_time(&mut self, rule: &Rule) -> bool {
        let c = &rule.conditions;
        if c.time.is_none() && c.weekday.is_none() {
            return true;
        }
        let now = self.input.now;
        let (hour, weekday) = self.clock.get_or_insert_with(|| clock(now));
        c.time.as_ref().is_none_or(|t| t.matches(hour)) && c.weekday.as_ref().is_none_or(|w| w.contains(*weekday))
    }
}

/// `hh:mm` and the weekday (0 = Sunday) of `now` in the local time zone.
fn clock(now: i64) -> (String, u8) {
    let zoned = super::time::local(now);
    (zoned.strftime("%H:%M").to_string(), zoned.weekday().to_sunday_zero_offset() as u8)
}

/// A condition on a field: a missing field fails, negated or not.
fn on_text(p: &Pattern, value: Option<&str>, scratch: &mut Vec<u8>) -> bool {
    value.is_some_and(|v| p.matches_text(v.as_bytes(), scratch))
}

fn ip(condition: &Option<Box<(Vec<crate::ruleset::rule::ip::IpEntry>, bool)>>, value: Option<&str>) -> bool {
    match (condition.as_deref(), value) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some((entries, negate)), Some(v)) => found_in(v, entries) != *negate,
    }
}
