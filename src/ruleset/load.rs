//! Loading a home's ruleset: decoders compiled into their tree, CDB lists indexed, rules
//! compiled into theirs, the MITRE table read. Problems name file and line; a broken decoder,
//! rule or unreadable list is skipped and the rest still loads.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use super::decoder::{DecoderSet, parse_file};
use super::files::{self, Files};
use super::lists::Lists;
use super::mitre::Mitre;
use super::rule::{RuleContext, RuleTree};
use crate::config;
use crate::xml::Document;

/// One loading problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// File, relative to the home.
    pub file: String,
    /// Line (0 when the whole file is concerned).
    pub line: u32,
    /// What is wrong.
    pub message: String,
    /// A warning does not drop anything.
    pub warning: bool,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = if self.warning { "warning" } else { "error" };
        write!(f, "{}:{}: {level}: {}", self.file, self.line, self.message)
    }
}

/// A loaded ruleset.
#[derive(Debug, Clone, Default)]
pub struct Ruleset {
    /// The files it came from.
    pub files: Files,
    /// The decoder tree.
    pub decoders: DecoderSet,
    /// The rule tree.
    pub rules: RuleTree,
    /// The CDB lists.
    pub lists: Lists,
    /// The MITRE ATT&CK table alerts are enriched from.
    pub mitre: Mitre,
}

/// Wazuh's `analysisd.default_timeframe`.
const DEFAULT_TIMEFRAME: u32 = 360;

fn problem(file: &str, line: u32, message: impl Into<String>) -> Problem {
    Problem { file: file.to_owned(), line, message: message.into(), warning: false }
}

/// Loads the ruleset `config` describes from `home`; `alerts` gives the levels from which rules
/// write and mail their alerts.
pub fn load(home: &Path, config: &config::Ruleset, alerts: &config::Alerts) -> (Ruleset, Vec<Problem>) {
    let mut problems = Vec::new();
    let files = match files::discover(home, config) {
        Ok(f) => f,
        Err(e) => {
            problems.push(problem("etc/ossec.conf", 0, e.0));
            Files::default()
        }
    };
    let mut ruleset = Ruleset::default();
    for file in &files.decoders {
        let Ok(text) = std::fs::read(files::path(home, file)) else {
            problems.push(problem(file, 0, format!("(1226): Error reading XML file '{file}'")));
            continue;
        };
        let (decoders, found) = parse_file(file, &String::from_utf8_lossy(&text));
        problems.extend(found.into_iter().map(|e| Problem {
            file: e.file.to_string(),
            line: e.line,
            warning: e.warning,
            message: decoder_message(e.decoder.as_deref(), &e.message),
        }));
        for decoder in decoders {
            if let Err(e) = ruleset.decoders.add(decoder) {
                problems.push(problem(&e.file, e.line, decoder_message(e.decoder.as_deref(), &e.message)));
            }
        }
    }
    let (lists, unreadable) = Lists::load(home, &files.lists);
    ruleset.lists = lists;
    // Wazuh warns and goes on without the list; rules naming it are dropped later.
    problems.extend(unreadable.into_iter().map(|e| Problem {
        file: e.file.clone(),
        line: 0,
        message: e.to_string(),
        warning: true,
    }));
    ruleset.decoders.add_builtins();
    let names: HashSet<String> = ruleset.decoders.all().iter().map(|d| d.own_name.to_string()).collect();
    let context = RuleContext {
        decoders: &names,
        lists: &ruleset.lists,
        log_alert_level: u32::from(alerts.log_alert_level),
        email_alert_level: u32::from(alerts.email_alert_level),
        default_timeframe: DEFAULT_TIMEFRAME,
    };
    let mut rules = RuleTree::default();
    let mut found = Vec::new();
    for file in &files.rules {
        match Document::read(&files::path(home, file)) {
            Ok(mut doc) => {
                if let Err(e) = doc.apply_variables() {
                    problems.push(problem(
                        file,
                        e.line,
                        format!("(1227): Error applying XML variables '{file}': {}.", e.message),
                    ));
                    continue;
                }
                rules.load_file(file, &doc, &context, &mut found);
            }
            Err(e) => {
                problems.push(problem(file, e.line, format!("(1226): Error reading XML file '{file}': {}", e.message)))
            }
        }
    }
    rules.finish();
    problems.extend(found.into_iter().map(|p| Problem {
        file: p.file.to_string(),
        line: p.line,
        message: p.message,
        warning: p.warning,
    }));
    ruleset.rules = rules;
    ruleset.mitre = Mitre::load(home).unwrap_or_else(|e| {
        problems.push(Problem { file: "ruleset/mitre".into(), line: 0, message: e.to_string(), warning: true });
        Mitre::builtin()
    });
    ruleset.files = files;
    (ruleset, problems)
}

fn decoder_message(decoder: Option<&str>, message: &str) -> String {
    match decoder {
        Some(d) => format!("decoder '{d}': {message}"),
        None => message.to_owned(),
    }
}
