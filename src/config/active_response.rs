//! `<command>` and `<active-response>` (Wazuh's `src/config/active-response.c`).

use serde::Serialize;

use super::value::Reader;
use crate::xml::Element;

/// A command agents (or the manager) can run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Command {
    /// Name referenced by `<active-response><command>`.
    pub name: String,
    /// Script under `active-response/bin/`.
    pub executable: String,
    /// Extra arguments.
    pub extra_args: Option<String>,
    /// The command can be undone after a timeout.
    pub timeout_allowed: bool,
}

/// Where an active response runs (several may combine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Location {
    /// On the manager.
    pub server: bool,
    /// On the agent that raised the alert.
    pub local: bool,
    /// On the agent named by `agent_id`.
    pub defined_agent: bool,
    /// On every agent.
    pub all: bool,
}

/// One `<active-response>` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveResponse {
    /// Command name (defined earlier in the file).
    pub command: String,
    /// Where it runs.
    pub location: Location,
    /// Target for `defined-agent`.
    pub agent_id: Option<String>,
    /// Alerts at or above this level trigger it.
    pub level: u8,
    /// Alerts of these rule ids trigger it.
    pub rules_id: Vec<String>,
    /// Alerts in these groups trigger it.
    pub rules_group: Option<String>,
    /// Seconds before the command is undone (0: never).
    pub timeout: u32,
}

impl Command {
    /// Reads one `<command>` block; `None` when name or executable is missing.
    pub fn read(r: &mut Reader<'_>, section: &Element) -> Option<Self> {
        let (mut name, mut executable, mut extra_args) = (None, None, None);
        let mut timeout_allowed = false;
        for el in section.children() {
            match el.name.as_str() {
                "name" if el.text.starts_with('!') => r.invalid_value(el),
                "name" => r.text(el, &mut name),
                "executable" => r.text(el, &mut executable),
                "extra_args" => r.text(el, &mut extra_args),
                "timeout_allowed" => r.yes_no(el, &mut timeout_allowed),
                "expect" => {}
                _ => r.invalid_element(el),
            }
        }
        match (name, executable) {
            (Some(name), Some(executable)) => Some(Self { name, executable, extra_args, timeout_allowed }),
            _ => {
                r.error(section, "Command options missing: <name> and <executable> are required.");
                None
            }
        }
    }
}

impl ActiveResponse {
    /// Reads one `<active-response>` block against the commands defined so far. `None` when it
    /// is disabled or invalid (the problem is recorded).
    pub fn read(r: &mut Reader<'_>, section: &Element, commands: &[Command]) -> Option<Self> {
        let (mut disabled, mut repeated_offenders) = (false, false);
        let mut command: Option<&Element> = None;
        let mut location: Option<&Element> = None;
        let mut ar = Self {
            command: String::new(),
            location: Location::default(),
            agent_id: None,
            level: 0,
            rules_id: Vec::new(),
            rules_group: None,
            timeout: 0,
        };
        for el in section.children() {
            match el.name.as_str() {
                "disabled" => r.yes_no(el, &mut disabled),
                "command" => command = Some(el),
                "location" => location = Some(el),
                "agent_id" => r.text(el, &mut ar.agent_id),
                "level" => r.number(el, 0..=20, &mut ar.level),
                "rules_id" => ar.rules_id = el.text.split(',').map(|s| s.trim().to_owned()).collect(),
                "rules_group" => r.text(el, &mut ar.rules_group),
                "timeout" => ar.timeout = el.text.trim().parse().unwrap_or(0),
                "repeated_offenders" => repeated_offenders = true,
                "ca_store" => {}
                _ => r.invalid_element(el),
            }
        }
        if disabled {
            return None;
        }
        let (Some(command), Some(location)) = (command, location) else {
            if !repeated_offenders {
                r.error(section, "Missing command or location for the active response.");
            }
            return None;
        };
        let Some(found) = commands.iter().find(|c| c.name == command.text) else {
            r.error(command, format!("Invalid command '{}' in the active response.", command.text));
            return None;
        };
        ar.command.clone_from(&found.name);
        let where_ = location.text.to_ascii_lowercase();
        ar.location = Location {
            server: ["as", "analysisd", "analysis-server", "server"].iter().any(|w| where_.contains(w)),
            local: where_.contains("local"),
            defined_agent: where_.contains("defined-agent"),
            all: where_.contains("all") || where_.contains("any"),
        };
        if ar.location == Location::default() {
            r.error(location, format!("Invalid active response location: '{}'.", location.text));
            return None;
        }
        if ar.location.defined_agent && ar.agent_id.is_none() {
            r.error(section, "No agent id specified for 'defined-agent'.");
            return None;
        }
        if !found.timeout_allowed && ar.timeout != 0 {
            r.warn(section, format!("Command '{}' does not allow a timeout; timeout set to 0.", found.name));
            ar.timeout = 0;
        }
        Some(ar)
    }
}
