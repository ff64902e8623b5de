//! `ossec.conf`-compatible configuration: one or more `<ossec_config>` blocks in Wazuh's lenient
//! XML, merged in order into typed sections with Wazuh's defaults.
//!
//! Problems are collected with file and line instead of stopping at the first: `vigil config
//! check` shows them all, and `vigil serve` refuses to start on any error (as Wazuh would).
//! Sections vigil does not serve (agent-side modules such as `<syscheck>`) are kept as they are
//! and warned about once.

mod active_response;
mod alerts;
mod api;
mod auth;
mod cluster;
mod email_alerts;
mod global;
mod indexer;
mod integration;
mod logging;
mod remote;
mod rule_test;
mod ruleset;
mod value;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use active_response::{ActiveResponse, Command, Location};
pub use alerts::Alerts;
pub use api::Api;
pub use auth::{Auth, AuthLimits, DEFAULT_CIPHERS, Force};
pub use cluster::{Cluster, Nats, NodeType};
pub use email_alerts::{EmailAlerts, MailFormat};
pub use global::{Global, SmtpTls};
pub use indexer::{Indexer, IndexerSsl, Shipper};
pub use integration::Integration;
pub use logging::Logging;
pub use remote::{Connection, IoDriver, Listener, Remote};
pub use rule_test::RuleTest;
pub use ruleset::{Dir, Ruleset};
pub use value::{Problem, Secret, Severity, parse_time};

use crate::xml::{Document, Element};
use value::Reader;

/// vigil's default configuration, written into a new home.
pub const DEFAULT: &str = include_str!("../../config/ossec.conf");

/// A section vigil keeps but does not act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtherSection {
    /// Element name, e.g. `syscheck`.
    pub name: String,
    /// Line of the element.
    pub line: u32,
}

/// Everything vigil understood from ossec.conf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    /// `<global>`.
    pub global: Global,
    /// `<remote>` blocks.
    pub remote: Remote,
    /// `<auth>`.
    pub auth: Auth,
    /// `<ruleset>`.
    pub ruleset: Ruleset,
    /// `<alerts>`.
    pub alerts: Alerts,
    /// `<logging>`.
    pub logging: Logging,
    /// `<rule_test>`.
    pub rule_test: RuleTest,
    /// `<api>` (vigil's REST API).
    pub api: Api,
    /// `<cluster>`.
    pub cluster: Cluster,
    /// `<indexer>`.
    pub indexer: Indexer,
    /// `<integration>` blocks.
    pub integrations: Vec<Integration>,
    /// `<command>` blocks.
    pub commands: Vec<Command>,
    /// `<active-response>` blocks.
    pub active_responses: Vec<ActiveResponse>,
    /// `<email_alerts>` blocks.
    pub email_alerts: Vec<EmailAlerts>,
    /// `<active-response><repeated_offenders>`: minutes a repeat offender's timeout becomes, for
    /// the 2nd, 3rd… time (the first block that has it, up to 5 values, as execd reads it).
    pub repeated_offenders: Vec<u32>,
    /// Sections kept but not served by vigil.
    pub other: Vec<OtherSection>,
}

impl Default for Config {
    /// What vigil runs with when ossec.conf has no sections at all (Wazuh's code defaults).
    fn default() -> Self {
        Self {
            global: Global::default(),
            remote: Remote::default(),
            auth: Auth::absent(),
            ruleset: Ruleset::with_defaults(),
            alerts: Alerts::default(),
            logging: Logging::default(),
            rule_test: RuleTest::default(),
            api: Api::default(),
            cluster: Cluster::default(),
            indexer: Indexer::default(),
            integrations: Vec::new(),
            commands: Vec::new(),
            active_responses: Vec::new(),
            email_alerts: Vec::new(),
            repeated_offenders: Vec::new(),
            other: Vec::new(),
        }
    }
}

/// The outcome of reading a config: what was understood and every problem found.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The typed configuration (defaults where a value was missing or wrong).
    pub config: Config,
    /// Errors and warnings, in file order.
    pub problems: Vec<Problem>,
}

impl Loaded {
    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.severity == Severity::Error)
    }
}

/// Sections that only match Wazuh's readers when they have children (`<global/>` is fatal there).
const NEED_CHILDREN: &[&str] = &[
    "global",
    "remote",
    "ruleset",
    "alerts",
    "cluster",
    "rule_test",
    "api",
    "integration",
    "command",
    "active-response",
];

/// Reads a config file. A file that cannot be read or is not Wazuh XML is one error problem.
pub fn load(path: &Path) -> Loaded {
    let mut problems = Vec::new();
    let doc = match Document::read(path) {
        Ok(doc) => doc,
        Err(e) => {
            problems.push(Problem {
                file: path.to_owned(),
                line: e.line,
                severity: Severity::Error,
                message: e.message,
            });
            return Loaded { config: Config::default(), problems };
        }
    };
    let config = read_document(&doc, path, &mut problems);
    Loaded { config, problems }
}

/// Reads config text as if it came from `file`.
pub fn parse(text: &str, file: &Path) -> Loaded {
    let mut problems = Vec::new();
    let config = match Document::parse(text) {
        Ok(doc) => read_document(&doc, file, &mut problems),
        Err(e) => {
            problems.push(Problem {
                file: file.to_owned(),
                line: e.line,
                severity: Severity::Error,
                message: e.message,
            });
            Config::default()
        }
    };
    Loaded { config, problems }
}

fn read_document(doc: &Document, file: &Path, problems: &mut Vec<Problem>) -> Config {
    let mut r = Reader::new(file, problems);
    let mut config = Config::default();
    let mut seen_ruleset = false;
    let mut seen_logging = false;
    let mut warned: Vec<String> = Vec::new();
    for root in doc.roots() {
        if root.name != "ossec_config" {
            r.invalid_element(root);
            continue;
        }
        for section in root.children() {
            let name = section.name.as_str();
            if NEED_CHILDREN.contains(&name) && section.children().next().is_none() {
                r.invalid_element(section);
                continue;
            }
            match name {
                "global" => config.global.read(&mut r, section),
                "remote" => config.remote.read(&mut r, section),
                "auth" => config.auth.read(&mut r, section),
                "ruleset" => {
                    if !seen_ruleset {
                        // The first block replaces the built-in defaults; later ones add to it.
                        config.ruleset = Ruleset::default();
                        seen_ruleset = true;
                    }
                    config.ruleset.read(&mut r, section);
                }
                "alerts" => config.alerts.read(&mut r, section),
                "logging" => {
                    config.logging.read(&mut r, section, !seen_logging);
                    seen_logging = true;
                }
                "rule_test" => config.rule_test.read(&mut r, section),
                "api" => config.api.read(&mut r, section),
                "cluster" => config.cluster.read(&mut r, section),
                "indexer" => config.indexer.read(&mut r, section),
                "integration" => config.integrations.extend(Integration::read(&mut r, section)),
                "email_alerts" => config.email_alerts.extend(EmailAlerts::read(&mut r, section)),
                "command" => config.commands.extend(Command::read(&mut r, section)),
                "active-response" => {
                    let ar = ActiveResponse::read(&mut r, section, &config.commands);
                    config.active_responses.extend(ar);
                    let offenders = section.children().find(|el| el.name == "repeated_offenders");
                    if let Some(el) = offenders.filter(|_| config.repeated_offenders.is_empty()) {
                        config.repeated_offenders =
                            el.text.split(',').take(5).filter_map(|m| m.trim().parse().ok()).collect();
                    }
                }
                _ => keep_other(&mut r, section, &mut config.other, &mut warned),
            }
        }
    }
    config
}

fn keep_other(r: &mut Reader<'_>, section: &Element, other: &mut Vec<OtherSection>, warned: &mut Vec<String>) {
    if !warned.contains(&section.name) {
        r.warn(section, format!("Section <{}> is not served by vigil; it is kept and ignored.", section.name));
        warned.push(section.name.clone());
    }
    other.push(OtherSection { name: section.name.clone(), line: section.line });
}

/// The config file of a home.
pub fn path_in(home: &Path) -> PathBuf {
    home.join("etc/ossec.conf")
}

#[cfg(test)]
mod tests;
