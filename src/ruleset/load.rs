//! Loading a home's ruleset: decoders compiled into their tree, CDB lists indexed, rule files
//! read and counted (rules compile with the rule engine). Problems name file and line; a broken
//! decoder or an unreadable list is skipped and the rest still loads.

use std::fmt;
use std::path::Path;

use super::decoder::{DecoderSet, parse_file};
use super::files::{self, Files};
use super::lists::Lists;
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
    /// `<rule>` elements found in the rule files.
    pub rule_count: usize,
    /// The CDB lists.
    pub lists: Lists,
}

fn problem(file: &str, line: u32, message: impl Into<String>) -> Problem {
    Problem { file: file.to_owned(), line, message: message.into(), warning: false }
}

/// Loads the ruleset `config` describes from `home`.
pub fn load(home: &Path, config: &config::Ruleset) -> (Ruleset, Vec<Problem>) {
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
    for file in &files.rules {
        match Document::read(&files::path(home, file)) {
            Ok(mut doc) => {
                if let Err(e) = doc.apply_variables() {
                    problems.push(problem(file, e.line, e.message));
                    continue;
                }
                ruleset.rule_count += doc
                    .roots()
                    .map(|g| if g.name == "rule" { 1 } else { g.children().filter(|r| r.name == "rule").count() })
                    .sum::<usize>();
            }
            Err(e) => problems.push(problem(file, e.line, e.message)),
        }
    }
    ruleset.files = files;
    (ruleset, problems)
}

fn decoder_message(decoder: Option<&str>, message: &str) -> String {
    match decoder {
        Some(d) => format!("decoder '{d}': {message}"),
        None => message.to_owned(),
    }
}
