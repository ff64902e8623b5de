//! Rules (engine.md §5): `<rule>` elements compiled into [`Rule`]s and arranged in Wazuh's tree.
//!
//! `parse` reads one element with rules.c's checks; `tree` attaches it where Wazuh would (or
//! overwrites an earlier rule in place); `compiled` holds the five built-in `<compiled_rule>`
//! checks; the other files are the pieces a rule condition is made of.

pub mod compiled;
pub mod ip;
mod parse;
pub mod pattern;
pub mod sieve;
mod tree;
pub mod when;

use std::sync::Arc;

use crate::ruleset::decoder::{DecoderType, StaticField};
use crate::ruleset::lists::ListCheck;
use crate::ruleset::regex::{OsMatch, OsRegex};
use compiled::Compiled;
use ip::IpEntry;
use pattern::Pattern;
use when::{TimeRange, Weekdays};

pub use parse::{RuleContext, RuleProblem};
pub use tree::{Node, NodeId, RuleTree, Siblings};

/// Index of a rule in its [`RuleTree`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(pub(crate) u32);

impl RuleId {
    /// Position in per-rule tables.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An event field `same_*`/`different_*` compare, in Wazuh's `field_offset` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compared {
    /// A decoded static field (`same_user` compares `dstuser`).
    Static(StaticField),
    /// `srcgeoip`: never set, as Wazuh is built without GeoIP.
    SrcGeoip,
    /// `dstgeoip`: never set.
    DstGeoip,
    /// The full location string.
    Location,
}

/// What a correlation rule looks back at (fixed when the rule is first loaded; an overwrite
/// keeps it, as Wazuh keeps `event_search`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// `if_matched_sid`: the events that fired that rule (`None` when it was not loaded, so
    /// nothing ever matches).
    Sids(Option<RuleId>),
    /// `if_matched_group`: the events that fired a rule of that group loaded before this one.
    Groups,
    /// Neither: the global event memory, filtered by `if_matched_regex`.
    Events,
}

/// `same_*`/`different_*`, `global_frequency`.
#[derive(Debug, Clone, Default)]
pub struct Correlation {
    /// Fields both events must have, equal.
    pub same: Vec<Compared>,
    /// Fields that must not be equal when both are set.
    pub different: Vec<Compared>,
    /// `same_field`: dynamic fields both must have, equal.
    pub same_fields: Vec<Box<str>>,
    /// `different_field`: dynamic fields that must not be equal.
    pub different_fields: Vec<Box<str>>,
    /// `global_frequency`: events of every agent count.
    pub global: bool,
}

impl Correlation {
    /// Whether any same/different option is set (Wazuh's load check for a missing
    /// `if_matched_*`).
    pub fn is_set(&self) -> bool {
        self.global
            || !self.same.is_empty()
            || !self.different.is_empty()
            || !self.same_fields.is_empty()
            || !self.different_fields.is_empty()
    }
}

/// `<options>` and the level thresholds, as Wazuh's `alert_opts` bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// `mail` in the alert.
    pub mail: bool,
    /// The alert is written (`log_alert_level` or `log_alert`, minus `no_log`).
    pub log: bool,
    /// `no_ar`.
    pub no_ar: bool,
    /// `no_full_log`.
    pub no_full_log: bool,
    /// `no_counter`.
    pub no_counter: bool,
}

/// Everything an event must pass, in the order Wazuh checks it (engine.md §5.4). Every
/// condition is boxed: a rule check then reads a few cache lines of `None`s, not kilobytes of
/// inline patterns (the walk visits a dozen rules per event, scattered in memory). The fields
/// are laid out in check order (`repr(C)`), so a rule that fails its first checks reads one
/// cache line of them.
#[derive(Debug, Clone, Default)]
#[repr(C)]
pub struct Conditions {
    /// `decoded_as`: the event's effective decoder name.
    pub decoded_as: Option<Arc<str>>,
    /// `program_name`.
    pub program_name: Option<Box<Pattern>>,
    /// `id`.
    pub id: Option<Box<Pattern>>,
    /// `system_name`.
    pub system_name: Option<Box<Pattern>>,
    /// `protocol`.
    pub protocol: Option<Box<Pattern>>,
    /// `match` on `log`.
    pub matches: Option<Box<Pattern>>,
    /// `regex` on `log`.
    pub regex: Option<Box<Pattern>>,
    /// `action`.
    pub action: Option<Box<Pattern>>,
    /// `url`.
    pub url: Option<Box<Pattern>>,
    /// `location`.
    pub location: Option<Box<Pattern>>,
    /// `field name="…"`.
    pub fields: Vec<(Box<str>, Pattern)>,
    /// `srcip` entries and `negate`.
    pub srcip: Option<Box<(Vec<IpEntry>, bool)>>,
    /// `dstip` entries and `negate`.
    pub dstip: Option<Box<(Vec<IpEntry>, bool)>>,
    /// `srcport`.
    pub srcport: Option<Box<Pattern>>,
    /// `dstport`.
    pub dstport: Option<Box<Pattern>>,
    /// `compiled_rule`.
    pub compiled: Option<Compiled>,
    /// `user`: `dstuser`, else `srcuser`.
    pub user: Option<Box<Pattern>>,
    /// `srcgeoip`.
    pub srcgeoip: Option<Box<Pattern>>,
    /// `dstgeoip`.
    pub dstgeoip: Option<Box<Pattern>>,
    /// `maxsize`: `log` at least this long.
    pub maxsize: usize,
    /// `time`.
    pub time: Option<Box<TimeRange>>,
    /// `weekday`.
    pub weekday: Option<Box<Weekdays>>,
    /// `data`.
    pub data: Option<Box<Pattern>>,
    /// `extra_data`.
    pub extra_data: Option<Box<Pattern>>,
    /// `hostname`.
    pub hostname: Option<Box<Pattern>>,
    /// `status`.
    pub status: Option<Box<Pattern>>,
    /// `check_diff`.
    pub check_diff: bool,
    /// `if_fts`.
    pub fts: bool,
    /// `list` lookups, all of which must pass.
    pub lists: Vec<ListCheck>,
}

/// MITRE ATT&CK references of a rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MitreRefs {
    /// Old format: technique ids.
    pub ids: Vec<String>,
    /// New format: (technique id, tactic id) pairs.
    pub pairs: Vec<(String, String)>,
}

/// How a rule attaches to the tree (kept from the first definition on overwrite).
#[derive(Debug, Clone, Default)]
pub struct Parents {
    /// `if_sid` as written (validated).
    pub if_sid: Option<String>,
    /// `if_group`.
    pub if_group: Option<String>,
    /// `if_level`.
    pub if_level: Option<String>,
    /// `if_matched_sid`.
    pub if_matched_sid: Option<u32>,
    /// `if_matched_group`, compiled.
    pub if_matched_group: Option<OsMatch>,
}

/// One compiled rule.
#[derive(Debug, Clone)]
// What the rule walk reads first (its conditions, level, `noalert`, context) comes first, in
// declaration order, so checking a rule touches as few cache lines as it can.
#[repr(C)]
pub struct Rule {
    /// Event conditions.
    pub conditions: Conditions,
    /// Signature id.
    pub sid: u32,
    /// Level 0..16 once loading is done (scaled by 100 while the tree is built).
    pub level: u32,
    /// `noalert`: a grouping node that never fires itself.
    pub noalert: bool,
    /// The rule has a context search (`if_matched_*`, `check_diff`).
    pub context: bool,
    /// Where its context search looks (absent for rules without one).
    pub search: Option<Search>,
    /// Alert options.
    pub options: Options,
    /// `frequency` minus 2 (0 without the attribute).
    pub frequency: u32,
    /// `timeframe` in seconds.
    pub timeframe: u32,
    /// `ignore` in seconds.
    pub ignore_time: u32,
    /// `category` (the decoder type it requires at the top level).
    pub category: DecoderType,
    /// The group string, as concatenated.
    pub group: String,
    /// The description template.
    pub description: String,
    /// `info` texts.
    pub info: Option<String>,
    /// `cve` texts.
    pub cve: Option<String>,
    /// MITRE references.
    pub mitre: Box<MitreRefs>,
    /// `if_matched_regex`.
    pub if_matched_regex: Option<Box<OsRegex>>,
    /// Correlation filters.
    pub correlation: Box<Correlation>,
    /// `ignore`/`check_if_ignored` field lists are present.
    pub ignore_fields: bool,
    /// `check_if_ignored` is present.
    pub check_if_ignored: bool,
    /// Attachment.
    pub parents: Box<Parents>,
    /// File it came from.
    pub file: Arc<str>,
    /// Line of its `<rule>` element.
    pub line: u32,
}

impl Rule {
    /// `rule.frequency` in alerts: the attribute value, shown for rules with a context search.
    pub fn shown_frequency(&self) -> Option<u32> {
        self.search.as_ref().map(|_| self.frequency + 2)
    }
}
