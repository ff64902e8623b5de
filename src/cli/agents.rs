//! `vigil agents …`: list, add, remove, show, and client.keys import/export.
//!
//! These work on the store directly; LMDB lets them run while `vigil serve` does.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use serde::Serialize;

use super::HomeArg;
use crate::config;
use crate::home::Home;
use crate::server::now;
use crate::store::{self, Agent, AgentIp, AgentName, GroupName, NewAgent, Status, Store, keys};

/// `vigil agents …`.
#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// List agents (all, or filtered).
    List {
        /// Home directory.
        #[command(flatten)]
        home: HomeArg,
        /// Only agents with this status (never_connected, pending, active, disconnected).
        #[arg(long)]
        status: Option<Status>,
        /// Only agents in this group.
        #[arg(long)]
        group: Option<GroupName>,
        /// Only agents registered with this address.
        #[arg(long)]
        ip: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Register an agent; prints its id (and key with --json).
    Add {
        /// Home directory.
        #[command(flatten)]
        home: HomeArg,
        /// Agent name: 2-128 characters from A-Z a-z 0-9 . _ -.
        name: AgentName,
        /// Registration address: any, an IP or a CIDR.
        #[arg(long, default_value = "any")]
        ip: AgentIp,
        /// Group (repeat for several, in priority order).
        #[arg(long = "group")]
        groups: Vec<GroupName>,
        /// Print the new agent, key included, as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove an agent by id or name.
    Remove {
        /// Home directory.
        #[command(flatten)]
        home: HomeArg,
        /// Agent id or name.
        agent: String,
        /// Forget the id entirely (default: <auth><purge> from ossec.conf).
        #[arg(long, conflicts_with = "keep")]
        purge: bool,
        /// Keep a removed line so the id is never reused.
        #[arg(long)]
        keep: bool,
    },
    /// Show one agent by id or name.
    Show {
        /// Home directory.
        #[command(flatten)]
        home: HomeArg,
        /// Agent id or name.
        agent: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import a Wazuh client.keys file (all entries or none).
    ImportKeys {
        /// Home directory.
        #[command(flatten)]
        home: HomeArg,
        /// The file.
        file: PathBuf,
    },
    /// Write the agents as a Wazuh client.keys file (to stdout without a file).
    ExportKeys {
        /// Home directory.
        #[command(flatten)]
        home: HomeArg,
        /// Output file, written atomically with mode 0640.
        file: Option<PathBuf>,
    },
    /// Migrate agents, groups and registration dates from a Wazuh installation, once.
    ImportWazuh {
        /// Home directory.
        #[command(flatten)]
        home: HomeArg,
        /// The Wazuh home to read (default: the home itself).
        #[arg(long)]
        from: Option<PathBuf>,
    },
}

/// An agent as printed: everything but the key.
#[derive(Serialize)]
struct View<'a> {
    id: String,
    name: &'a str,
    ip: &'a str,
    status: &'static str,
    status_code: u8,
    groups: Vec<&'a str>,
    registered_at: String,
    last_keepalive: Option<String>,
    disconnected_at: Option<String>,
    last_ip: Option<&'a str>,
    version: Option<&'a str>,
    os: &'a store::Os,
    labels: &'a std::collections::BTreeMap<String, String>,
    config_sum: Option<&'a str>,
    merged_sum: Option<&'a str>,
    node_name: Option<&'a str>,
}

fn iso(t: i64) -> String {
    jiff::Timestamp::from_second(t).map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default()
}

impl<'a> From<&'a Agent> for View<'a> {
    fn from(a: &'a Agent) -> Self {
        Self {
            id: a.id.to_string(),
            name: a.name.as_str(),
            ip: a.ip.as_str(),
            status: a.status.as_str(),
            status_code: a.status_code,
            groups: a.groups.iter().map(GroupName::as_str).collect(),
            registered_at: iso(a.registered_at),
            last_keepalive: a.last_keepalive.map(iso),
            disconnected_at: a.disconnected_at.map(iso),
            last_ip: a.last_ip.as_deref(),
            version: a.version.as_deref(),
            os: &a.os,
            labels: &a.labels,
            config_sum: a.config_sum.as_deref(),
            merged_sum: a.merged_sum.as_deref(),
            node_name: a.node_name.as_deref(),
        }
    }
}

fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn print_table(agents: &[Agent]) {
    let rows: Vec<[String; 6]> = agents
        .iter()
        .map(|a| {
            let groups = a.groups.iter().map(GroupName::as_str).collect::<Vec<_>>().join(",");
            let os = a.os.name.clone().unwrap_or_default();
            [a.id.to_string(), a.name.to_string(), a.ip.to_string(), a.status.as_str().to_owned(), groups, os]
        })
        .collect();
    let header = ["ID", "NAME", "IP", "STATUS", "GROUPS", "OS"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: &[&str]| {
        let padded: Vec<String> = cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(&header);
    for row in &rows {
        line(&row.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

/// Opens the home's store, laying out a missing home first (as `serve` would).
fn open(home: &HomeArg) -> anyhow::Result<(Home, Store)> {
    let home = home.home();
    home.prepare(now()).with_context(|| format!("cannot prepare home {}", home.root().display()))?;
    let store = home.store()?;
    Ok((home, store))
}

fn find(store: &Store, key: &str) -> anyhow::Result<Agent> {
    let by_id = key.parse().ok().map(|id| store.agent(id)).transpose()?.flatten();
    match by_id {
        Some(agent) => Ok(agent),
        None => store.agent_by_name(key)?.with_context(|| format!("no agent with id or name '{key}'")),
    }
}

/// Runs an agents subcommand.
pub fn run(command: AgentsCommand) -> anyhow::Result<()> {
    match command {
        AgentsCommand::List { home, status, group, ip, json } => {
            let (_, store) = open(&home)?;
            let mut agents = match (&group, status) {
                (Some(g), _) => store.agents_in_group(g)?,
                (None, Some(s)) => store.agents_with_status(s)?,
                (None, None) => store.agents()?,
            };
            agents
                .retain(|a| status.is_none_or(|s| a.status == s) && ip.as_deref().is_none_or(|ip| a.ip.as_str() == ip));
            if json {
                print_json(&agents.iter().map(View::from).collect::<Vec<_>>())
            } else {
                print_table(&agents);
                Ok(())
            }
        }
        AgentsCommand::Add { home, name, ip, groups, json } => {
            let (_, store) = open(&home)?;
            let groups = if groups.is_empty() { vec![GroupName::default_group()] } else { groups };
            let agent = store.add_agent(NewAgent { name, ip, groups, registered_at: now() })?;
            if json {
                let mut value = serde_json::to_value(View::from(&agent))?;
                value["key"] = agent.key.expose().into();
                print_json(&value)
            } else {
                println!("Agent added: id {} name {} ip {}", agent.id, agent.name, agent.ip);
                Ok(())
            }
        }
        AgentsCommand::Remove { home, agent, purge, keep } => {
            let (home, store) = open(&home)?;
            let purge = purge || (!keep && config::load(&home.config_file()).config.auth.purge);
            let target = find(&store, &agent)?;
            store.remove_agent(target.id, purge)?;
            println!("Agent removed: id {} name {}{}", target.id, target.name, if purge { " (purged)" } else { "" });
            Ok(())
        }
        AgentsCommand::Show { home, agent, json } => {
            let (_, store) = open(&home)?;
            let agent = find(&store, &agent)?;
            let view = View::from(&agent);
            if json {
                return print_json(&view);
            }
            let value = serde_json::to_value(&view)?;
            if let Some(map) = value.as_object() {
                for (k, v) in map {
                    let shown = match v {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => "-".to_owned(),
                        other => other.to_string(),
                    };
                    println!("{k:<16} {shown}");
                }
            }
            Ok(())
        }
        AgentsCommand::ImportKeys { home, file } => {
            let (_, store) = open(&home)?;
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let entries = keys::parse(&text).with_context(|| format!("{}", file.display()))?;
            let count =
                store.import_keys(&entries, now()).with_context(|| format!("{}: nothing imported", file.display()))?;
            println!("Imported {count} entries from {}", file.display());
            Ok(())
        }
        AgentsCommand::ExportKeys { home, file } => {
            let (_, store) = open(&home)?;
            let text = store.export_keys()?;
            match file {
                None => print!("{text}"),
                Some(path) => {
                    Home::write_atomic(&path, text.as_bytes(), 0o640)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                }
            }
            Ok(())
        }
        AgentsCommand::ImportWazuh { home, from } => {
            let (home, store) = open(&home)?;
            let source = from.unwrap_or_else(|| home.root().to_owned());
            if !source.join("etc/client.keys").exists() {
                bail!("{} has no etc/client.keys: not a Wazuh manager home", source.display());
            }
            let done = store::wazuh::import(&store, &source, now())?;
            println!(
                "Imported {} agents, {} removed entries and {} groups from {}{}",
                done.agents,
                done.removed,
                done.groups,
                source.display(),
                if done.used_global_db { " (with wazuh-db global.db)" } else { "" }
            );
            Ok(())
        }
    }
}
