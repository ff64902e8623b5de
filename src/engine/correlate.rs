//! Correlation state (engine.md §5.5), indexed.
//!
//! Wazuh keeps, per `if_matched_sid` target and per `if_matched_group` rule, a list of the
//! events that fired, and scans it from the newest for each candidate event, skipping events
//! of other agents or with other `same_*` values. vigil keeps those events per correlation
//! rule in buckets keyed by the agent and the `same_*` values, so a check walks only events
//! that would pass those filters: the first few of its bucket. What is left (`different_*`,
//! the time window, the "already fired" barrier, the count) is Wazuh's scan, unchanged.
//!
//! Wazuh's event memory still bounds what can be found: stored events get a sequence number,
//! and the memory evicts the oldest as analysisd's `OS_AddEvent` does (at least ten at a time
//! past `memory_size`), so an event it would have forgotten is never counted. Buckets are
//! capped per rule with least-recently-used eviction, counted and logged.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use hashlink::LruCache;

use super::event::Event;
use crate::ruleset::decoder::{DecoderType, StaticField};
use crate::ruleset::rule::{Compared, Correlation, Rule, RuleId, RuleTree, Search};
use crate::sync::lock;

/// Limits of the correlation state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Events remembered (`analysisd.memory_size` / `<global><memory_size>`).
    pub memory_size: usize,
    /// Distinct keys (agent and `same_*` values) kept per correlation rule.
    pub keys_per_rule: usize,
}

impl Limits {
    /// The limits `<global>` sets.
    pub fn from_config(global: &crate::config::Global) -> Self {
        Self { memory_size: global.memory_size as usize, keys_per_rule: global.correlation_keys as usize }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self { memory_size: 8192, keys_per_rule: 65536 }
    }
}

/// Stored events between two sweeps of the buckets for events the memory forgot.
const PRUNE_EVERY: u64 = 4096;

/// Longest previous-event list an alert carries (Wazuh stops adding at index 10).
const MAX_LAST_EVENTS: usize = 11;

/// An event that fired a rule, as correlation later sees it.
#[derive(Debug)]
pub struct Stored {
    seq: u64,
    time: i64,
    agent: Box<str>,
    full_log: Arc<str>,
    log: Option<Box<str>>,
    kind: DecoderType,
    statics: Vec<(StaticField, Box<str>)>,
    location: Box<str>,
    dynamic: Vec<(Box<str>, Box<str>)>,
    nfields: usize,
    /// Level of the highest rule this event was counted for (the reset after firing).
    matched: AtomicU32,
}

/// Read access to the fields correlation compares, on a live or a stored event.
trait Fields {
    fn compared(&self, field: Compared) -> Option<&str>;
    fn dynamic(&self, name: &str) -> Option<&str>;
    fn nfields(&self) -> usize;
    fn agent(&self) -> &str;
}

impl Fields for Event {
    fn compared(&self, field: Compared) -> Option<&str> {
        match field {
            Compared::Static(f) => self.get(f),
            Compared::SrcGeoip | Compared::DstGeoip => None,
            Compared::Location => Some(&self.pre.location),
        }
    }

    fn dynamic(&self, name: &str) -> Option<&str> {
        self.field(name)
    }

    fn nfields(&self) -> usize {
        self.dynamic_len()
    }

    fn agent(&self) -> &str {
        &self.pre.agent_id
    }
}

impl Fields for Stored {
    fn compared(&self, field: Compared) -> Option<&str> {
        match field {
            Compared::Static(f) => self.statics.iter().find(|(s, _)| *s == f).map(|(_, v)| &**v),
            Compared::SrcGeoip | Compared::DstGeoip => None,
            Compared::Location => Some(&self.location),
        }
    }

    fn dynamic(&self, name: &str) -> Option<&str> {
        self.dynamic.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| &**v)
    }

    fn nfields(&self) -> usize {
        self.nfields
    }

    fn agent(&self) -> &str {
        &self.agent
    }
}

/// The bucket key: the agent (unless `global_frequency`) and every `same_*` value. `None` when
/// a value is missing: such an event never passes Wazuh's `same_*` checks.
fn key(c: &Correlation, event: &impl Fields) -> Option<Vec<u8>> {
    let mut key = Vec::with_capacity(32);
    if !c.global {
        key.extend_from_slice(event.agent().as_bytes());
    }
    for &field in &c.same {
        key.push(0xff);
        key.extend_from_slice(event.compared(field)?.as_bytes());
    }
    for name in &c.same_fields {
        key.push(0xfe);
        key.extend_from_slice(event.dynamic(name)?.as_bytes());
    }
    Some(key)
}

/// The `different_*` checks: `true` when `previous` may be counted for `current`.
fn differs(c: &Correlation, previous: &impl Fields, current: &impl Fields) -> bool {
    if !c.different_fields.is_empty() {
        if current.nfields() == 0 && previous.nfields() == 0 {
            return false;
        }
        let same = c
            .different_fields
            .iter()
            .any(|name| matches!((current.dynamic(name), previous.dynamic(name)), (Some(a), Some(b)) if a == b));
        if same {
            return false;
        }
    }
    c.different.iter().all(|&f| !matches!((previous.compared(f), current.compared(f)), (Some(a), Some(b)) if a == b))
}

type Buckets = LruCache<Vec<u8>, VecDeque<Arc<Stored>>>;

/// Most shards of one rule's buckets.
const SHARDS: usize = 16;

/// One correlation rule's buckets, split by key so workers checking different sources (the
/// common case: many attackers) seldom wait for each other. Each shard takes an equal part of
/// the rule's key limit and evicts its own least recently used keys.
#[derive(Debug)]
struct Shards(Box<[Mutex<Buckets>]>);

impl Shards {
    fn new(keys_per_rule: usize) -> Self {
        let count = keys_per_rule.clamp(1, SHARDS);
        let each = (keys_per_rule / count).max(1);
        Self((0..count).map(|_| Mutex::new(LruCache::new(each))).collect())
    }

    /// The shard holding `key`.
    fn of(&self, key: &[u8]) -> &Mutex<Buckets> {
        // FNV-1a: cheap, and spreads addresses and names well enough for a handful of shards.
        let hash = key.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        &self.0[(hash % self.0.len() as u64) as usize]
    }
}

/// The global event memory: sequence numbers and times of the events still remembered.
#[derive(Debug)]
struct Memory {
    events: VecDeque<Arc<Stored>>,
    max: usize,
    /// Largest stored `frequency` of any rule: Wazuh's eviction compares event ages with it.
    max_frequency: i64,
}

/// What one correlation check leaves on the event being evaluated.
#[derive(Debug, Default)]
pub struct Trail {
    /// `full_log` of the previous events counted, for `previous_output`.
    pub last_events: Vec<Arc<str>>,
    /// Level of the correlation rule that matched (the event's own barrier value).
    pub matched: u32,
}

/// Correlation state for one ruleset: shared by every worker (serve) or owned by one logtest
/// session.
#[derive(Debug)]
pub struct Correlator {
    buckets: Vec<Option<Shards>>,
    memory: Mutex<Memory>,
    next_seq: AtomicU64,
    oldest_alive: AtomicU64,
    evicted_keys: AtomicU64,
    keep_log: bool,
    keep_dynamic: bool,
}

impl Correlator {
    /// Empty state for `tree`.
    pub fn new(tree: &RuleTree, limits: Limits) -> Self {
        let rules = tree.rules();
        let indexed = |r: &Rule| matches!(r.search, Some(Search::Sids(_) | Search::Groups));
        let buckets = rules.iter().map(|r| indexed(r).then(|| Shards::new(limits.keys_per_rule))).collect();
        let keep_log = rules.iter().any(|r| r.search == Some(Search::Events));
        let keep_dynamic = keep_log || rules.iter().any(|r| !r.correlation.different_fields.is_empty());
        let max_frequency = rules.iter().map(|r| i64::from(r.frequency)).max().unwrap_or(0);
        Self {
            buckets,
            memory: Mutex::new(Memory { events: VecDeque::new(), max: limits.memory_size.max(1), max_frequency }),
            next_seq: AtomicU64::new(1),
            oldest_alive: AtomicU64::new(0),
            evicted_keys: AtomicU64::new(0),
            keep_log,
            keep_dynamic,
        }
    }

    /// Keys dropped so far because a rule had more than its limit.
    pub fn evicted_keys(&self) -> u64 {
        self.evicted_keys.load(Ordering::Relaxed)
    }

    /// Runs rule `id`'s context search for `event` (of decoder type `kind`) at `now`
    /// (Search_LastSids/Groups/Events).
    /// On a match, returns `true` and the trail; on no match the trail's events are dropped.
    pub fn search(
        &self,
        id: RuleId,
        rule: &Rule,
        event: &Event,
        kind: DecoderType,
        now: i64,
        trail: &mut Trail,
    ) -> bool {
        let found = match &rule.search {
            Some(Search::Sids(None)) | None => false,
            Some(Search::Events) => self.search_memory(rule, event, kind, now, trail),
            Some(Search::Sids(Some(_)) | Search::Groups) => self.search_bucket(id, rule, event, now, trail),
        };
        if !found {
            trail.last_events.clear();
        }
        found
    }

    fn search_bucket(&self, id: RuleId, rule: &Rule, event: &Event, now: i64, trail: &mut Trail) -> bool {
        let (Some(Some(buckets)), Some(key)) = (self.buckets.get(id.index()), key(&rule.correlation, event)) else {
            return false;
        };
        let mut buckets = lock(buckets.of(&key));
        let Some(bucket) = buckets.get_mut(&key) else {
            return false;
        };
        let oldest = self.oldest_alive.load(Ordering::Acquire);
        let candidates = bucket.iter().rev().take_while(|s| s.seq >= oldest);
        let (found, stop) = scan(rule, event, now, candidates, trail);
        if let Some(keep) = stop {
            // Nothing at or past the stop point can be counted by this rule again: it is too
            // old, forgotten, or behind an event this rule's level already fired on.
            let drop = bucket.len().saturating_sub(keep);
            bucket.drain(..drop);
        }
        found
    }

    fn search_memory(&self, rule: &Rule, event: &Event, kind: DecoderType, now: i64, trail: &mut Trail) -> bool {
        let memory = lock(&self.memory);
        let current_key = key(&rule.correlation, event);
        let candidates = memory.events.iter().rev().filter(|s| {
            s.kind == kind
                && rule
                    .if_matched_regex
                    .as_ref()
                    .is_none_or(|r| s.log.as_deref().is_some_and(|l| r.is_match(l.as_bytes())))
                && current_key.is_some()
                && key(&rule.correlation, s.as_ref()) == current_key
        });
        scan(rule, event, now, candidates, trail).0
    }

    /// Remembers `event` (of decoder type `kind`), which fired `rule` at `now` with barrier
    /// level `matched`, for the correlation rules that count it.
    pub fn store(&self, tree: &RuleTree, rule: RuleId, event: &Event, kind: DecoderType, now: i64, matched: u32) {
        let watchers = tree.watchers(rule);
        if watchers.is_empty() && !self.keep_log {
            return;
        }
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let stored = Arc::new(Stored {
            seq,
            time: now,
            agent: event.pre.agent_id.as_str().into(),
            full_log: Arc::from(event.pre.full_log.as_str()),
            log: self.keep_log.then(|| event.pre.log.as_str().into()),
            kind,
            statics: event.statics().map(|(f, v)| (f, v.into())).collect(),
            location: event.pre.location.as_str().into(),
            dynamic: if self.keep_dynamic {
                event.dynamic().iter().map(|(k, v)| (Box::from(&**k), v.as_str().into())).collect()
            } else {
                Vec::new()
            },
            nfields: event.dynamic_len(),
            matched: AtomicU32::new(matched),
        });
        for &watcher in watchers {
            let c = tree.rule(watcher);
            let (Some(Some(buckets)), Some(key)) = (self.buckets.get(watcher.index()), key(&c.correlation, event))
            else {
                continue;
            };
            let mut buckets = lock(buckets.of(&key));
            if buckets.len() >= buckets.capacity() && !buckets.contains_key(&key) {
                let evicted = self.evicted_keys.fetch_add(1, Ordering::Relaxed) + 1;
                if evicted.is_power_of_two() {
                    tracing::warn!(
                        rule = c.sid,
                        evicted,
                        "correlation state full: least recently used keys dropped (raise the per-rule key limit)"
                    );
                }
            }
            match buckets.get_mut(&key) {
                Some(bucket) => bucket.push_back(stored.clone()),
                None => {
                    buckets.insert(key, VecDeque::from([stored.clone()]));
                }
            }
        }
        self.remember(stored, now);
        if seq.is_multiple_of(PRUNE_EVERY) {
            self.prune();
        }
    }

    /// Drops what the memory forgot from every bucket, and buckets left empty: events the
    /// memory forgot can never be counted again, and a key no later event visits would keep
    /// them for good.
    fn prune(&self) {
        let oldest = self.oldest_alive.load(Ordering::Acquire);
        for buckets in self.buckets.iter().flatten().flat_map(|shards| shards.0.iter()) {
            lock(buckets).retain(|_, bucket| {
                while bucket.front().is_some_and(|s| s.seq < oldest) {
                    bucket.pop_front();
                }
                !bucket.is_empty()
            });
        }
    }

    /// `OS_AddEvent`: past the limit, forget at least the ten oldest, and more while they are
    /// older than the largest frequency (Wazuh compares seconds with a count there).
    fn remember(&self, stored: Arc<Stored>, now: i64) {
        let mut memory = lock(&self.memory);
        memory.events.push_back(stored);
        if memory.events.len() > memory.max {
            let mut dropped = 0;
            while memory.events.len() > 1 {
                let Some(oldest) = memory.events.front() else { break };
                if dropped >= 10 && now - oldest.time <= memory.max_frequency {
                    break;
                }
                memory.events.pop_front();
                dropped += 1;
            }
        }
        if let Some(front) = memory.events.front() {
            self.oldest_alive.store(front.seq, Ordering::Release);
        }
    }
}

/// Wazuh's scan over candidates (newest first). Returns whether the rule matched and, when the
/// scan stopped early, how many candidates (from the newest) are still worth keeping.
fn scan<'s>(
    rule: &Rule,
    event: &Event,
    now: i64,
    candidates: impl Iterator<Item = &'s Arc<Stored>>,
    trail: &mut Trail,
) -> (bool, Option<usize>) {
    let level = rule.level;
    let mut count = 0u32;
    let mut first: Option<&Arc<Stored>> = None;
    for (seen, s) in candidates.enumerate() {
        if now - s.time > i64::from(rule.timeframe) {
            return (false, Some(seen));
        }
        if !differs(&rule.correlation, &**s, event) {
            continue;
        }
        if s.matched.load(Ordering::Relaxed) >= level {
            return (false, Some(seen + 1));
        }
        let at = count as usize;
        if at < MAX_LAST_EVENTS && at >= trail.last_events.len() {
            trail.last_events.push(s.full_log.clone());
        }
        if count < rule.frequency {
            count += 1;
            first.get_or_insert(s);
            continue;
        }
        trail.matched = level;
        if let Some(f) = first {
            f.matched.store(level, Ordering::Relaxed);
        }
        return (true, None);
    }
    (false, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_key_limit_without_exceeding_it() {
        for (limit, shards, each) in [(1, 1, 1), (2, 2, 1), (20, 16, 1), (65_536, 16, 4096)] {
            let split = Shards::new(limit);
            assert_eq!(split.0.len(), shards, "{limit}");
            assert!(split.0.iter().all(|s| lock(s).capacity() == each), "{limit}");
            assert!(shards * each <= limit);
        }
        let split = Shards::new(65_536);
        let used: std::collections::HashSet<*const Mutex<Buckets>> =
            (0..200).map(|i| split.of(format!("10.0.{i}.1").as_bytes()) as *const _).collect();
        assert!(used.len() >= 12, "addresses spread over the shards: {}", used.len());
    }
}
