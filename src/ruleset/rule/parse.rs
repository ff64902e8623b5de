//! One `<rule>` element into a [`Rule`], with rules.c's checks and messages (engine.md §5.1–5.2).
//!
//! Wazuh treats most problems as fatal for the whole ruleset; vigil reports the same message
//! with file and line and drops only the rule at fault, so the rest loads. Warnings that Wazuh
//! follows with "will be ignored" drop the rule too, as they do there.

use std::collections::HashSet;
use std::sync::Arc;

use super::compiled::Compiled;
use super::ip::IpEntry;
use super::pattern::{Default as PatternDefault, PatternBuilder, PatternError};
use super::when::{TimeRange, Weekdays};
use super::{Compared, Conditions, MitreRefs, Options, Rule};
use crate::ruleset::decoder::{DecoderType, StaticField};
use crate::ruleset::lists::{ListCheck, Lists};
use crate::ruleset::regex::{Dialect, OsMatch, OsRegex};
use crate::xml::Element;

/// What rule parsing needs from the rest of the ruleset and the configuration.
#[derive(Debug, Clone)]
pub struct RuleContext<'a> {
    /// Every decoder name `decoded_as` may use.
    pub decoders: &'a HashSet<String>,
    /// The loaded CDB lists.
    pub lists: &'a Lists,
    /// `<alerts><log_alert_level>`.
    pub log_alert_level: u32,
    /// `<alerts><email_alert_level>`.
    pub email_alert_level: u32,
    /// `analysisd.default_timeframe`.
    pub default_timeframe: u32,
}

/// A rule loading problem, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct RuleProblem {
    /// File, relative to the home.
    pub file: Arc<str>,
    /// Line of the element at fault.
    pub line: u32,
    /// Wazuh's message.
    pub message: String,
    /// A warning leaves the rule loaded.
    pub warning: bool,
}

/// A parsed rule and whether it asks to overwrite an earlier one.
#[derive(Debug)]
pub(super) struct Parsed {
    pub rule: Rule,
    pub overwrite: bool,
}

/// Why a rule is not loaded (the problem itself is already reported).
#[derive(Debug)]
pub(super) struct Dropped;

/// Longest text one repeated element may add (`OS_SIZE_2048`).
const MAX_TEXT: usize = 2048;
/// Most `<field>` elements (`analysisd.decoder_order_size`).
const MAX_FIELDS: usize = 256;

struct Attributes {
    sid: u32,
    level: u32,
    maxsize: usize,
    timeframe: u32,
    frequency: u32,
    accuracy: bool,
    noalert: bool,
    ignore_time: u32,
    overwrite: bool,
}

pub(super) struct Reader<'a> {
    pub file: &'a Arc<str>,
    pub problems: &'a mut Vec<RuleProblem>,
    pub context: &'a RuleContext<'a>,
}

/// All digits (Wazuh's `OS_StrIsNum`; an empty string is not a number).
fn is_num(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// `sscanf("%Nd")`: at most `width` leading digits.
fn scan(text: &str, width: usize) -> u32 {
    text[..text.len().min(width)].parse().unwrap_or(0)
}

/// The text elements a rule repeats and concatenates (`loadmemory`).
fn append(target: &mut Option<String>, text: &str) -> Result<(), String> {
    let too_long = match target {
        None => text.len() >= MAX_TEXT,
        Some(at) => at.len() > MAX_TEXT || text.len() > MAX_TEXT,
    };
    if too_long {
        return Err(format!("(1104): Maximum string size reached for: {text}."));
    }
    target.get_or_insert_with(String::new).push_str(text);
    Ok(())
}

/// Builders for the pattern elements, keyed by element name.
struct Patterns {
    sid: u32,
    builders: Vec<(&'static str, PatternBuilder)>,
}

/// Pattern elements and their default dialect (rules.c's `*_type` defaults).
const PATTERN_ELEMENTS: [(&str, PatternDefault); 18] = [
    ("regex", PatternDefault::Dialect(Dialect::OsRegex)),
    ("match", PatternDefault::Dialect(Dialect::OsMatch)),
    ("user", PatternDefault::Dialect(Dialect::OsMatch)),
    ("srcgeoip", PatternDefault::Dialect(Dialect::OsMatch)),
    ("dstgeoip", PatternDefault::Dialect(Dialect::OsMatch)),
    ("id", PatternDefault::Dialect(Dialect::OsMatch)),
    ("srcport", PatternDefault::Dialect(Dialect::OsMatch)),
    ("dstport", PatternDefault::Dialect(Dialect::OsMatch)),
    ("status", PatternDefault::Dialect(Dialect::OsMatch)),
    ("hostname", PatternDefault::Dialect(Dialect::OsMatch)),
    ("data", PatternDefault::Dialect(Dialect::OsMatch)),
    ("extra_data", PatternDefault::Dialect(Dialect::OsMatch)),
    ("program_name", PatternDefault::Dialect(Dialect::OsMatch)),
    ("action", PatternDefault::Exact),
    ("system_name", PatternDefault::Dialect(Dialect::OsMatch)),
    ("protocol", PatternDefault::Dialect(Dialect::OsMatch)),
    ("location", PatternDefault::Dialect(Dialect::OsMatch)),
    ("url", PatternDefault::Dialect(Dialect::OsMatch)),
];

impl Patterns {
    fn new(sid: u32) -> Self {
        Self { sid, builders: Vec::new() }
    }

    fn default_of(name: &str) -> Option<(&'static str, PatternDefault)> {
        PATTERN_ELEMENTS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).copied()
    }

    fn add(&mut self, name: &'static str, default: PatternDefault, el: &Element) -> Result<(), PatternError> {
        let index = match self.builders.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                self.builders.push((name, PatternBuilder::new(default, self.sid)));
                self.builders.len() - 1
            }
        };
        self.builders[index].1.add(el)
    }

    fn take(&mut self, name: &str) -> Option<PatternBuilder> {
        let index = self.builders.iter().position(|(n, _)| *n == name)?;
        Some(self.builders.swap_remove(index).1)
    }
}

/// `same_*` element names (case-insensitive ones first), and what they compare.
fn same_element(name: &str) -> Option<Compared> {
    let lower = name.to_ascii_lowercase();
    let insensitive = match lower.as_str() {
        "same_source_ip" | "same_srcip" => Some(Compared::Static(StaticField::SrcIp)),
        "same_dstip" => Some(Compared::Static(StaticField::DstIp)),
        "same_src_port" | "same_srcport" => Some(Compared::Static(StaticField::SrcPort)),
        "same_dst_port" | "same_dstport" => Some(Compared::Static(StaticField::DstPort)),
        "same_protocol" => Some(Compared::Static(StaticField::Protocol)),
        "same_action" => Some(Compared::Static(StaticField::Action)),
        "same_location" => Some(Compared::Location),
        "same_srcuser" => Some(Compared::Static(StaticField::SrcUser)),
        "same_user" => Some(Compared::Static(StaticField::DstUser)),
        _ => None,
    };
    insensitive.or(match name {
        "same_id" => Some(Compared::Static(StaticField::Id)),
        "same_url" => Some(Compared::Static(StaticField::Url)),
        "same_data" => Some(Compared::Static(StaticField::Data)),
        "same_extra_data" => Some(Compared::Static(StaticField::ExtraData)),
        "same_status" => Some(Compared::Static(StaticField::Status)),
        "same_system_name" => Some(Compared::Static(StaticField::SystemName)),
        "same_srcgeoip" => Some(Compared::SrcGeoip),
        "same_dstgeoip" => Some(Compared::DstGeoip),
        _ => None,
    })
}

/// `different_*` element names, with rules.c's mix of exact and case-insensitive comparison.
fn different_element(name: &str) -> Option<Compared> {
    let lower = name.to_ascii_lowercase();
    let insensitive = match lower.as_str() {
        "different_dstip" => Some(Compared::Static(StaticField::DstIp)),
        "different_src_port" | "different_srcport" => Some(Compared::Static(StaticField::SrcPort)),
        "different_dst_port" | "different_dstport" => Some(Compared::Static(StaticField::DstPort)),
        "different_srcuser" => Some(Compared::Static(StaticField::SrcUser)),
        "different_user" | "not_same_user" => Some(Compared::Static(StaticField::DstUser)),
        "different_location" => Some(Compared::Location),
        _ => None,
    };
    insensitive.or(match name {
        "different_srcip" | "not_same_source_ip" => Some(Compared::Static(StaticField::SrcIp)),
        "different_protocol" => Some(Compared::Static(StaticField::Protocol)),
        "different_action" => Some(Compared::Static(StaticField::Action)),
        "different_id" | "not_same_id" => Some(Compared::Static(StaticField::Id)),
        "different_url" => Some(Compared::Static(StaticField::Url)),
        "different_data" => Some(Compared::Static(StaticField::Data)),
        "different_extra_data" => Some(Compared::Static(StaticField::ExtraData)),
        "different_status" => Some(Compared::Static(StaticField::Status)),
        "different_system_name" => Some(Compared::Static(StaticField::SystemName)),
        "different_srcgeoip" => Some(Compared::SrcGeoip),
        "different_dstgeoip" => Some(Compared::DstGeoip),
        _ => None,
    })
}

/// Names `<field>` may not use: they are static fields with their own elements.
const STATIC_FIELD_NAMES: [&str; 17] = [
    "srcip",
    "dstip",
    "srcgeoip",
    "dstgeoip",
    "srcport",
    "dstport",
    "user",
    "srcuser",
    "dstuser",
    "url",
    "id",
    "data",
    "extra_data",
    "status",
    "protocol",
    "system_name",
    "action",
];

/// `ignore`/`check_if_ignored` words: comma-separated, each trimmed at spaces; none empty.
fn ignore_words(text: &str) -> bool {
    text.split(',').all(|w| !w.trim_start_matches(' ').split(' ').next().unwrap_or_default().is_empty())
}

fn category(text: &str) -> Option<DecoderType> {
    Some(match text {
        "firewall" => DecoderType::Firewall,
        "ids" => DecoderType::Ids,
        "syslog" => DecoderType::Syslog,
        "web-log" => DecoderType::WebLog,
        "squid" => DecoderType::Squid,
        "windows" => DecoderType::Windows,
        "ossec" => DecoderType::Ossec,
        _ => return None,
    })
}

/// Keeps track of the MITRE format a rule uses across its `<mitre>` blocks.
#[derive(Default)]
struct MitreState {
    refs: MitreRefs,
    old: bool,
    new: bool,
}

impl Reader<'_> {
    fn report(&mut self, line: u32, message: impl Into<String>, warning: bool) {
        let (file, message) = (self.file.clone(), message.into());
        self.problems.push(RuleProblem { file, line, message, warning });
    }

    fn error(&mut self, line: u32, message: impl Into<String>) -> Dropped {
        self.report(line, message, false);
        Dropped
    }

    fn warn(&mut self, line: u32, message: impl Into<String>) {
        self.report(line, message, true);
    }

    /// A warning after which Wazuh ignores the rule.
    fn skip(&mut self, line: u32, message: impl Into<String>) -> Dropped {
        self.warn(line, message);
        Dropped
    }

    fn attributes(&mut self, el: &Element) -> Result<Attributes, Dropped> {
        let mut a = Attributes {
            sid: 0,
            level: 0,
            maxsize: 0,
            timeframe: self.context.default_timeframe,
            frequency: 0,
            accuracy: true,
            noalert: false,
            ignore_time: 0,
            overwrite: false,
        };
        let (mut sid, mut level) = (None, None);
        let invalid = |r: &mut Self, message: String| {
            r.report(el.line, message, false);
            r.error(el.line, "Invalid attribute for rule.")
        };
        for attr in &el.attributes {
            let v = attr.value.as_str();
            match attr.name.to_ascii_lowercase().as_str() {
                "id" if is_num(v) && v.len() <= 6 => sid = Some(scan(v, 6)),
                "id" => {
                    return Err(invalid(
                        self,
                        format!("rules_op: Invalid rule id: {v}. Must be integer (max 6 digits)"),
                    ));
                }
                // A non-numeric level is ignored, which then fails as "no level".
                "level" if is_num(v) => {
                    let n: u64 = v.parse().unwrap_or(u64::MAX);
                    if n > 16 {
                        return Err(invalid(
                            self,
                            format!("rules_op: Invalid level: {n}. Must be an integer between 0 and 16."),
                        ));
                    }
                    level = Some(n as u32);
                }
                "level" => {}
                "maxsize" if is_num(v) => a.maxsize = scan(v, 4) as usize,
                "timeframe" if is_num(v) => a.timeframe = scan(v, 5),
                "frequency" if is_num(v) => {
                    let n: u64 = v.parse().unwrap_or(u64::MAX);
                    if !(2..=9999).contains(&n) {
                        return Err(invalid(
                            self,
                            format!("rules_op: Invalid frequency: {n}. Must be higher than 1 and lower than 10000."),
                        ));
                    }
                    a.frequency = n as u32 - 2;
                }
                "accuracy" if is_num(v) => a.accuracy = scan(v, 4) != 0,
                "ignore" if is_num(v) => a.ignore_time = scan(v, 6),
                "noalert" => match v {
                    "0" => a.noalert = false,
                    "1" => a.noalert = true,
                    _ => self.warn(el.line, "Invalid value for attribute 'noalert'"),
                },
                "overwrite" => match v {
                    "yes" => a.overwrite = true,
                    "no" => a.overwrite = false,
                    _ => {
                        return Err(invalid(
                            self,
                            format!("rules_op: Invalid overwrite: {v}. Can only by 'yes' or 'no'."),
                        ));
                    }
                },
                name @ ("maxsize" | "timeframe" | "frequency" | "accuracy" | "ignore") => {
                    let what = if name == "ignore" { "ignore_time" } else { name };
                    return Err(invalid(self, format!("rules_op: Invalid {what}: {v}. Must be integer")));
                }
                _ => {
                    return Err(invalid(
                        self,
                        format!(
                            "rules_op: Invalid attribute \"{}\". Only id, level, maxsize, accuracy, noalert, ignore, frequency and timeframe are allowed.",
                            attr.name
                        ),
                    ));
                }
            }
        }
        match (sid, level) {
            (Some(s), Some(l)) => {
                a.sid = s;
                a.level = l;
                Ok(a)
            }
            _ => Err(self.error(el.line, "No rule id or level specified for rule.")),
        }
    }

    /// Parses one `<rule>` of a `<group name="…">`. `exists` tells whether a sid is already
    /// loaded (a duplicate without `overwrite` is skipped before its elements are read).
    pub(super) fn rule(
        &mut self,
        el: &Element,
        group_name: &str,
        exists: impl Fn(u32) -> bool,
    ) -> Result<Parsed, Dropped> {
        let a = self.attributes(el)?;
        let sid = a.sid;
        let mut overwrite = a.overwrite;
        if exists(sid) {
            if !overwrite {
                return Err(self.skip(
                    el.line,
                    format!("(7612): Rule ID '{sid}' is duplicated. Only the first occurrence will be considered."),
                ));
            }
        } else if overwrite {
            self.warn(
                el.line,
                format!("(7613): Rule ID '{sid}' does not exist but 'overwrite' is set to 'yes'. Still, the rule will be loaded."),
            );
            overwrite = false;
        }
        // Levels are scaled while the tree is built, so level 0 (as 99) sorts first.
        let raw_level = a.level;
        let mut level = if raw_level == 0 { 99 } else { raw_level };
        if a.accuracy {
            level *= 100;
        }
        let options = Options {
            mail: self.context.email_alert_level <= raw_level,
            log: self.context.log_alert_level <= raw_level,
            ..Options::default()
        };
        let mut rule = Rule {
            sid,
            level,
            frequency: a.frequency,
            timeframe: a.timeframe,
            ignore_time: a.ignore_time,
            noalert: a.noalert,
            options,
            category: DecoderType::Syslog,
            group: group_name.to_owned(),
            description: String::new(),
            info: None,
            cve: None,
            mitre: Box::default(),
            conditions: Conditions { maxsize: a.maxsize, ..Conditions::default() },
            context: false,
            search: None,
            if_matched_regex: None,
            correlation: Box::default(),
            ignore_fields: false,
            check_if_ignored: false,
            parents: Box::default(),
            file: self.file.clone(),
            line: el.line,
        };
        let mut children = el.children().peekable();
        if children.peek().is_none() {
            return Err(self.error(
                el.line,
                format!(
                    "Rule '{sid}' without any option. It may lead to false positives and some other problems for the system. Exiting."
                ),
            ));
        }
        let mut patterns = Patterns::new(sid);
        let mut description: Option<String> = None;
        let mut mitre = MitreState::default();
        let (mut if_matched_group, mut if_matched_regex) = (None::<String>, None::<String>);
        let mut skip = None;
        for child in children {
            self.element(
                child,
                &mut rule,
                &mut patterns,
                &mut description,
                &mut mitre,
                &mut skip,
                (&mut if_matched_group, &mut if_matched_regex),
            )?;
            if skip.is_some() {
                break;
            }
        }
        rule.mitre = Box::new(mitre.refs);
        if let Some(if_sid) = &rule.parents.if_sid
            && !if_sid.bytes().all(|b| b.is_ascii_digit() || b == b',' || b == b' ')
        {
            skip.get_or_insert(format!("(7618): Invalid 'if_sid' value: '{if_sid}'. Rule '{sid}' will be ignored."));
        }
        if let Some(message) = skip {
            return Err(self.skip(el.line, message));
        }
        rule.description = match description {
            Some(d) => d,
            None => return Err(self.error(el.line, format!("No such description at rule '{sid}'."))),
        };
        if (rule.correlation.is_set() || rule.frequency > 0) && !rule.context {
            return Err(self.error(
                el.line,
                format!("Invalid use of frequency/context options. Missing if_matched on rule '{sid}'."),
            ));
        }
        let parents = &mut rule.parents;
        if let Some(group) = &if_matched_group
            && !overwrite
            && parents.if_sid.is_none()
            && parents.if_group.is_none()
        {
            parents.if_group = Some(group.clone());
        }
        if let Some(matched) = parents.if_matched_sid
            && parents.if_sid.is_none()
            && parents.if_group.is_none()
            && !overwrite
        {
            parents.if_sid = Some(matched.to_string());
        }
        self.compile_patterns(&mut rule, patterns)?;
        if let Some(group) = if_matched_group {
            let compiled = OsMatch::new(&group)
                .map_err(|e| self.error(el.line, format!("(1450): Syntax error on regex: '{group}': {e}.")))?;
            rule.parents.if_matched_group = Some(compiled);
        }
        if let Some(regex) = if_matched_regex {
            let compiled = OsRegex::without_captures(&regex)
                .map_err(|e| self.error(el.line, format!("(1450): Syntax error on regex: '{regex}': {e}.")))?;
            rule.if_matched_regex = Some(Box::new(compiled));
        }
        Ok(Parsed { rule, overwrite })
    }

    #[allow(clippy::too_many_arguments, reason = "the element loop's running state, kept in one place")]
    fn element(
        &mut self,
        child: &Element,
        rule: &mut Rule,
        patterns: &mut Patterns,
        description: &mut Option<String>,
        mitre: &mut MitreState,
        skip: &mut Option<String>,
        matched: (&mut Option<String>, &mut Option<String>),
    ) -> Result<(), Dropped> {
        let sid = rule.sid;
        let text = child.text.as_str();
        let line = child.line;
        let name = child.name.as_str();
        let lower = name.to_ascii_lowercase();
        let too_long = |r: &mut Self, e: String| r.error(line, e);
        if let Some((key, default)) = Patterns::default_of(name) {
            if let Err(e) = patterns.add(key, default, child) {
                return Err(self.error(line, e.to_string()));
            }
            return Ok(());
        }
        if let Some(field) = same_element(name) {
            push_unique(&mut rule.correlation.same, field);
            return Ok(());
        }
        if let Some(field) = different_element(name) {
            push_unique(&mut rule.correlation.different, field);
            return Ok(());
        }
        match lower.as_str() {
            "decoded_as" => {
                if !self.context.decoders.contains(text) {
                    return Err(self.error(line, format!("Invalid decoder name: '{text}'.")));
                }
                rule.conditions.decoded_as = Some(Arc::from(text));
            }
            "cve" => append(&mut rule.cve, text).map_err(|e| too_long(self, e))?,
            "info" => {
                if let Some(attr) = child.attributes.first() {
                    if !attr.name.eq_ignore_ascii_case("type") {
                        self.report(
                            line,
                            format!("rules_op: Element info has invalid attribute \"{}\"", attr.name),
                            false,
                        );
                    } else if !["text", "link", "cve", "osvdb"].contains(&attr.value.as_str()) {
                        self.report(
                            line,
                            format!(
                                "rules_op: Element info attribute \"{}\" has invalid value \"{}\"",
                                attr.name, attr.value
                            ),
                            false,
                        );
                    }
                }
                append(&mut rule.info, text).map_err(|e| too_long(self, e))?;
            }
            "time" => {
                let range = TimeRange::parse(text).map_err(|_| {
                    self.error(line, format!("(1274): Invalid configuration. Element '{name}': {text}."))
                })?;
                rule.conditions.time = Some(Box::new(range));
            }
            "weekday" => {
                let days = Weekdays::parse(text).map_err(|_| {
                    self.report(line, format!("(1241): Invalid day format: '{text}'."), false);
                    self.error(line, format!("(1274): Invalid configuration. Element '{name}': {text}."))
                })?;
                rule.conditions.weekday = Some(Box::new(days));
            }
            "group" => {
                let mut group = Some(std::mem::take(&mut rule.group));
                append(&mut group, text).map_err(|e| too_long(self, e))?;
                rule.group = group.unwrap_or_default().replace('\n', "");
            }
            "description" => {
                // Only the first newline of each element becomes a space.
                append(description, &text.replacen('\n', " ", 1)).map_err(|e| too_long(self, e))?;
            }
            "srcip" | "dstip" => {
                let entry = IpEntry::parse(text)
                    .map_err(|_| self.error(line, format!("(1237): Invalid ip address: '{text}'.")))?;
                let negate = self.negate(child, sid);
                let slot = if lower == "srcip" { &mut rule.conditions.srcip } else { &mut rule.conditions.dstip };
                let (entries, negated) = &mut **slot.get_or_insert_with(|| Box::new((Vec::new(), false)));
                entries.push(entry);
                *negated = negate;
            }
            "field" => self.field(child, rule)?,
            "list" => {
                let lists = self.context.lists;
                match ListCheck::new(text, child.attr("field"), child.attr("lookup"), child.attr("check_value"), lists)
                {
                    Ok(check) => rule.conditions.lists.push(check),
                    Err(crate::ruleset::lists::CheckError::NotLoaded(list)) => {
                        *skip =
                            Some(format!("(7616): List '{list}' could not be loaded. Rule '{sid}' will be ignored."));
                    }
                    Err(e) => {
                        self.report(line, e.to_string(), false);
                        return Err(
                            self.error(line, format!("(1274): Invalid configuration. Element '{name}': {text}."))
                        );
                    }
                }
            }
            "compiled_rule" => match Compiled::parse(text) {
                Some(c) => rule.conditions.compiled = Some(c),
                None => {
                    self.report(line, format!("Compiled rule not found: '{text}'"), false);
                    return Err(self.error(line, format!("(1274): Invalid configuration. Element '{name}': {text}.")));
                }
            },
            "category" => match category(text) {
                Some(c) => rule.category = c,
                None => return Err(self.error(line, format!("(1273): Invalid category '{text}' chosen."))),
            },
            "if_sid" => append(&mut rule.parents.if_sid, text).map_err(|e| too_long(self, e))?,
            "if_level" => {
                if !is_num(text) {
                    *skip = Some(format!("(7609): Invalid 'if_level' value: '{text}'. Rule '{sid}' will be ignored."));
                    return Ok(());
                }
                append(&mut rule.parents.if_level, text).map_err(|e| too_long(self, e))?;
            }
            "if_group" => append(&mut rule.parents.if_group, text).map_err(|e| too_long(self, e))?,
            "if_matched_regex" => {
                rule.context = true;
                append(matched.1, text).map_err(|e| too_long(self, e))?;
            }
            "if_matched_group" => {
                rule.context = true;
                append(matched.0, text).map_err(|e| too_long(self, e))?;
            }
            "if_matched_sid" => {
                rule.context = true;
                if !is_num(text) {
                    *skip = Some(format!(
                        "(7615): Invalid 'if_matched_sid' value: '{text}'. Rule '{sid}' will be ignored."
                    ));
                    return Ok(());
                }
                rule.parents.if_matched_sid = Some(text.parse().unwrap_or(u32::MAX));
            }
            "same_agent" | "not_same_agent" => {
                self.warn(
                    line,
                    format!("Detected a deprecated field option for rule, {lower} is not longer available."),
                );
            }
            "check_diff" => {
                rule.context = true;
                rule.conditions.check_diff = true;
            }
            "if_fts" => rule.conditions.fts = true,
            "global_frequency" => rule.correlation.global = true,
            "same_field" => rule.correlation.same_fields.push(text.into()),
            "not_same_field" | "different_field" => rule.correlation.different_fields.push(text.into()),
            "options" => match text {
                "alert_by_email" => rule.options.mail = true,
                "no_email_alert" => rule.options.mail = false,
                "log_alert" => rule.options.log = true,
                "no_log" => rule.options.log = false,
                "no_ar" => rule.options.no_ar = true,
                "no_full_log" => rule.options.no_full_log = true,
                "no_counter" => rule.options.no_counter = true,
                _ => {
                    self.report(line, format!("(1235): Invalid value for element 'options': {text}."), false);
                    return Err(self.error(line, format!("Invalid option '{name}' for rule '{sid}'.")));
                }
            },
            "ignore" | "check_if_ignored" => {
                if !ignore_words(text) {
                    return Err(self.error(line, format!("Wrong {lower} option: '{text}'")));
                }
                if lower == "ignore" {
                    rule.ignore_fields = true;
                } else {
                    rule.check_if_ignored = true;
                }
            }
            "mitre" => self.mitre(child, sid, mitre)?,
            _ => return Err(self.error(line, format!("Invalid option '{name}' for rule '{sid}'."))),
        }
        Ok(())
    }

    fn negate(&mut self, el: &Element, sid: u32) -> bool {
        match el.attr("negate") {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("yes") => true,
            Some(v) if v.eq_ignore_ascii_case("no") => false,
            Some(v) => {
                self.warn(el.line, format!("(7600): Invalid value '{v}' for attribute 'negate' in rule {sid}."));
                false
            }
        }
    }

    fn field(&mut self, el: &Element, rule: &mut Rule) -> Result<(), Dropped> {
        let sid = rule.sid;
        if rule.conditions.fields.len() >= MAX_FIELDS {
            return Err(self.error(el.line, format!("Rule {sid} has exceeded the maximum number of allowed fields")));
        }
        let Some(name) = el.attr("name") else {
            return Err(self.error(el.line, format!("Failure to read rule {sid}. No such attribute 'name' for field.")));
        };
        if STATIC_FIELD_NAMES.iter().any(|s| s.eq_ignore_ascii_case(name)) {
            return Err(self.error(el.line, format!("Failure to read rule {sid}. Field '{name}' is static.")));
        }
        let mut builder = PatternBuilder::new(PatternDefault::Dialect(Dialect::OsRegex), sid);
        builder.add(el).map_err(|e| self.error(el.line, e.to_string()))?;
        let (pattern, warnings) = builder
            .build(name)
            .map_err(|_| self.error(el.line, format!("(5107): Syntax error on tag '{name}' in rule {sid}")))?;
        for w in warnings {
            self.warn(el.line, w.to_string());
        }
        rule.conditions.fields.push((name.into(), pattern));
        Ok(())
    }

    fn mitre(&mut self, el: &Element, sid: u32, state: &mut MitreState) -> Result<(), Dropped> {
        let children: Vec<&Element> = el.children().collect();
        if children.is_empty() {
            self.warn(el.line, format!("Empty Mitre information for rule '{sid}'"));
            return Ok(());
        }
        let (mut ids, mut tactics, mut techniques) = (0, 0, 0);
        let mut failure = false;
        for c in &children {
            let empty = c.text.is_empty();
            match c.name.to_ascii_lowercase().as_str() {
                "id" if empty => {
                    self.warn(c.line, format!("No Mitre Technique ID found for rule '{sid}'"));
                    failure = true;
                }
                "id" => ids += 1,
                "tacticid" if empty => {
                    self.warn(c.line, format!("No Mitre Tactic ID found for rule '{sid}'"));
                    failure = true;
                }
                "tacticid" => tactics += 1,
                "techniqueid" if empty => {
                    self.warn(c.line, format!("No Mitre Technique ID found for rule '{sid}'"));
                    failure = true;
                }
                "techniqueid" => techniques += 1,
                _ => {
                    self.report(c.line, format!("Invalid option '{}' for rule '{sid}'", c.name), false);
                    failure = true;
                }
            }
        }
        if failure {
            return Ok(());
        }
        if ids > 0 {
            if tactics > 0 || techniques > 0 {
                self.warn(el.line, format!("Rule '{sid}' combined old and new Mitre formats in the same block. The Mitre block will be discarded."));
                return Ok(());
            }
            if state.new {
                self.warn(el.line, format!("Rule '{sid}' combined old and new Mitre formats, the old Mitre Technique format will be discarded."));
                state.refs.ids.clear();
                return Ok(());
            }
            state.old = true;
        } else {
            match (tactics, techniques) {
                (1, 1) => {
                    state.new = true;
                    if state.old {
                        self.warn(el.line, format!("Rule '{sid}' combined old and new Mitre formats, the old Mitre Technique format will be discarded."));
                        state.refs.ids.clear();
                        state.old = false;
                    }
                }
                (t, n) if t > 0 && n > 0 => {
                    self.warn(el.line, format!("In rule '{sid}' is not allowed to join more than one Mitre techniqueID or tacticID in the same block. The Mitre block will be discarded."));
                    return Ok(());
                }
                (0, _) => {
                    self.warn(el.line, format!("Mitre tacticID should be defined in rule '{sid}'"));
                    return Ok(());
                }
                _ => {
                    self.warn(el.line, format!("Mitre techniqueID should be defined in rule '{sid}'"));
                    return Ok(());
                }
            }
        }
        let (mut tactic, mut technique) = (None, None);
        for c in children {
            match c.name.to_ascii_lowercase().as_str() {
                "id" if !state.refs.ids.contains(&c.text) => state.refs.ids.push(c.text.clone()),
                "tacticid" => tactic = Some(c.text.clone()),
                "techniqueid" => technique = Some(c.text.clone()),
                _ => {}
            }
        }
        if let (Some(tactic), Some(technique)) = (tactic, technique) {
            let pair = (technique, tactic);
            if !state.refs.pairs.contains(&pair) {
                state.refs.pairs.push(pair);
            }
        }
        Ok(())
    }

    /// Compiles the collected pattern elements, in rules.c's order (which decides which error
    /// is reported first).
    fn compile_patterns(&mut self, rule: &mut Rule, mut patterns: Patterns) -> Result<(), Dropped> {
        let line = rule.line;
        let c = &mut rule.conditions;
        let order: [(&str, &mut Option<Box<super::pattern::Pattern>>); 18] = [
            ("regex", &mut c.regex),
            ("match", &mut c.matches),
            ("id", &mut c.id),
            ("srcport", &mut c.srcport),
            ("dstport", &mut c.dstport),
            ("status", &mut c.status),
            ("hostname", &mut c.hostname),
            ("data", &mut c.data),
            ("extra_data", &mut c.extra_data),
            ("program_name", &mut c.program_name),
            ("user", &mut c.user),
            ("srcgeoip", &mut c.srcgeoip),
            ("dstgeoip", &mut c.dstgeoip),
            ("url", &mut c.url),
            ("location", &mut c.location),
            ("action", &mut c.action),
            ("protocol", &mut c.protocol),
            ("system_name", &mut c.system_name),
        ];
        for (name, slot) in order {
            let Some(builder) = patterns.take(name) else {
                continue;
            };
            match builder.build(name) {
                Ok((pattern, warnings)) => {
                    for w in warnings {
                        self.problems.push(RuleProblem {
                            file: self.file.clone(),
                            line,
                            message: w.to_string(),
                            warning: true,
                        });
                    }
                    *slot = Some(Box::new(pattern));
                }
                Err(e) => {
                    self.problems.push(RuleProblem {
                        file: self.file.clone(),
                        line,
                        message: e.to_string(),
                        warning: false,
                    });
                    return Err(Dropped);
                }
            }
        }
        Ok(())
    }
}

fn push_unique(list: &mut Vec<Compared>, field: Compared) {
    if !list.contains(&field) {
        list.push(field);
    }
}
