//! Inventory deltas (queue `d`, syscollector.c's `dbsync_*` path): each row inserted, modified
//! or deleted on the agent is applied to the agent's inventory table, and an event with the
//! row's fields goes to the rules (stock rule 221, level 0).

use serde_json::Value;

use super::json::{self, get, str_of};
use super::{Context, Handled, ModuleError};
use crate::engine::plugins::cjson::Json;
use crate::engine::predecode::Predecoded;
use crate::ruleset::decoder::Builtin;
use crate::store::state::{Owner, Row, Table};

const MODULE: &str = "syscollector";

/// One inventory table: where its rows go, how they are keyed, and the fields rules see.
pub struct Kind {
    /// The name after `dbsync_` / `syscollector_`.
    pub name: &'static str,
    /// The table.
    pub table: Table,
    /// The columns whose values key a row (the agent's sync index first when it has one).
    pub index: &'static [&'static str],
    /// Prefix of the fields rules see.
    prefix: &'static str,
    /// The data members copied to fields (data name, field name); empty: every member.
    fields: &'static [(&'static str, &'static str)],
}

const fn same(name: &'static str) -> (&'static str, &'static str) {
    (name, name)
}

/// Every inventory table agents synchronise.
pub const KINDS: [Kind; 13] = [
    Kind { name: "hotfixes", table: Table::Hotfixes, index: &["hotfix"], prefix: "", fields: &[same("hotfix")] },
    Kind {
        name: "packages",
        table: Table::Packages,
        index: &["item_id", "format", "name", "version", "architecture", "location"],
        prefix: "program.",
        fields: &[
            same("format"),
            same("name"),
            same("priority"),
            ("groups", "section"),
            same("size"),
            same("vendor"),
            same("install_time"),
            same("version"),
            same("architecture"),
            same("multiarch"),
            same("source"),
            same("description"),
            same("location"),
        ],
    },
    Kind {
        name: "processes",
        table: Table::Processes,
        index: &["pid"],
        prefix: "process.",
        fields: &[
            same("pid"),
            same("name"),
            same("state"),
            same("ppid"),
            same("utime"),
            same("stime"),
            same("cmd"),
            ("argvs", "args"),
            same("euser"),
            same("ruser"),
            same("suser"),
            same("egroup"),
            same("rgroup"),
            same("sgroup"),
            same("fgroup"),
            same("priority"),
            same("nice"),
            same("size"),
            same("vm_size"),
            same("resident"),
            same("share"),
            same("start_time"),
            same("pgrp"),
            same("session"),
            same("nlwp"),
            same("tgid"),
            same("tty"),
            same("processor"),
        ],
    },
    Kind {
        name: "ports",
        table: Table::Ports,
        index: &["item_id", "protocol", "local_ip", "local_port", "inode"],
        prefix: "port.",
        fields: &[
            same("protocol"),
            same("local_ip"),
            same("local_port"),
            same("remote_ip"),
            same("remote_port"),
            same("tx_queue"),
            same("rx_queue"),
            same("inode"),
            same("state"),
            same("pid"),
            same("process"),
        ],
    },
    Kind {
        name: "network_iface",
        table: Table::NetIface,
        index: &["item_id", "name"],
        prefix: "netinfo.iface.",
        fields: &[
            same("name"),
            same("adapter"),
            same("type"),
            same("state"),
            same("mtu"),
            same("mac"),
            same("tx_packets"),
            same("rx_packets"),
            same("tx_bytes"),
            same("rx_bytes"),
            same("tx_errors"),
            same("rx_errors"),
            same("tx_dropped"),
            same("rx_dropped"),
        ],
    },
    Kind {
        name: "network_protocol",
        table: Table::NetProto,
        index: &["item_id", "iface", "type"],
        prefix: "netinfo.proto.",
        fields: &[same("iface"), same("type"), same("gateway"), same("dhcp"), same("metric")],
    },
    Kind {
        name: "network_address",
        table: Table::NetAddr,
        index: &["item_id", "iface", "proto", "address"],
        prefix: "netinfo.addr.",
        fields: &[same("iface"), same("proto"), same("address"), same("netmask"), same("broadcast")],
    },
    Kind {
        name: "hwinfo",
        table: Table::Hardware,
        index: &["board_serial"],
        prefix: "hardware.",
        fields: &[
            ("board_serial", "serial"),
            same("cpu_name"),
            same("cpu_cores"),
            same("cpu_mhz"),
            same("ram_total"),
            same("ram_free"),
            same("ram_usage"),
        ],
    },
    Kind {
        name: "osinfo",
        table: Table::Os,
        index: &["os_name"],
        prefix: "os.",
        fields: &[
            same("hostname"),
            same("architecture"),
            ("os_name", "name"),
            ("os_version", "version"),
            ("os_codename", "codename"),
            ("os_major", "major"),
            ("os_minor", "minor"),
            ("os_patch", "patch"),
            ("os_build", "build"),
            ("os_platform", "platform"),
            same("sysname"),
            same("release"),
            ("version", "version"),
            same("os_release"),
            ("os_display_version", "display_version"),
        ],
    },
    Kind { name: "users", table: Table::Users, index: &["user_name"], prefix: "user.", fields: &[] },
    Kind {
        name: "groups",
        table: Table::Groups,
        index: &["group_name"],
        prefix: "group.",
        fields: &[
            same("group_id"),
            same("group_name"),
            same("group_description"),
            same("group_id_signed"),
            same("group_uuid"),
            same("group_is_hidden"),
            same("group_users"),
        ],
    },
    Kind {
        name: "browser_extensions",
        table: Table::BrowserExtensions,
        index: &["item_id", "browser_name", "user_id", "package_name", "package_version", "browser_profile_path"],
        prefix: "browser_extension.",
        fields: &[],
    },
    Kind {
        name: "services",
        table: Table::Services,
        index: &["item_id", "service_id"],
        prefix: "service.",
        fields: &[],
    },
];

/// The table a `dbsync_<name>` / `syscollector_<name>` message is about.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// `network_address`'s numeric protocol as wazuh-db stores it.
fn address_family(proto: f64) -> &'static str {
    if proto == 0.0 { "ipv4" } else { "ipv6" }
}

/// Text of a scalar for keys and fields (`""` for anything else).
fn scalar(value: Option<&Json<'_>>) -> String {
    value.and_then(json::text).unwrap_or_default()
}

impl Kind {
    /// The row key of `data`: its sync index (`item_id`) when it has one, else its key columns
    /// joined by a unit separator. `None` when every key column is empty.
    pub fn key(&self, data: &Json<'_>) -> Option<String> {
        if self.index.first() == Some(&"item_id")
            && let Some(id) = str_of(data, "item_id").filter(|s| !s.is_empty())
        {
            return Some(id.to_owned());
        }
        let columns = self.index.iter().filter(|c| **c != "item_id");
        let parts: Vec<String> = columns.map(|c| scalar(get(data, c))).collect();
        (!parts.iter().all(String::is_empty)).then(|| parts.join("\u{1f}"))
    }

    /// The stored row: the data's members (nulls and empty strings left out, as wazuh-db stores
    /// NULL), with `network_address`'s numeric protocol as text.
    pub fn row(&self, data: &Json<'_>) -> Row {
        let mut row = Row::new();
        for (key, value) in json::members(data) {
            let value = match (self.table, key.as_ref(), value) {
                (Table::NetAddr, "proto", Json::Number(n)) => Value::from(address_family(*n)),
                (_, _, Json::Null) => continue,
                (_, _, Json::String(s)) if s.is_empty() && !matches!(key.as_ref(), "format" | "location") => continue,
                (_, _, v) => json::to_value(v),
            };
            row.insert(key.to_string(), value);
        }
        row
    }

    /// The fields rules see, in syscollector.c's order: every mapped member (`""` when absent).
    fn fields(&self, data: &Json<'_>) -> Vec<(String, String)> {
        if self.fields.is_empty() {
            let skip = ["scan_time", "checksum", "item_id"];
            return json::members(data)
                .iter()
                .filter(|(k, _)| !skip.contains(&k.as_ref()))
                .map(|(k, v)| (format!("{}{k}", self.prefix), json::text(v).unwrap_or_default()))
                .collect();
        }
        self.fields
            .iter()
            .map(|(member, field)| {
                let text = match get(data, member) {
                    Some(Json::Number(n)) if self.table == Table::NetAddr && *member == "proto" => {
                        address_family(*n).to_owned()
                    }
                    value => scalar(value),
                };
                (format!("{}{field}", self.prefix), text)
            })
            .collect()
    }
}

/// Applies one row to `owner`'s table (insert or replace); a row without a key is skipped, as
/// wazuh-db never matches a NULL key.
pub fn save(ctx: &mut Context<'_, '_>, owner: Owner, kind: &Kind, data: &Json<'_>) -> Result<(), ModuleError> {
    let Some(key) = kind.key(data) else {
        return Ok(());
    };
    if kind.table == Table::Os {
        // One operating system per agent: a new one replaces the last.
        ctx.state.clear(owner, Table::Os)?;
        ctx.effects.os.push((owner, os_of(data)));
    }
    ctx.state.put(owner, kind.table, &key, &kind.row(data))?;
    Ok(())
}

/// The agent record's OS fields from an `osinfo` row.
fn os_of(data: &Json<'_>) -> crate::store::Os {
    let text = |k: &str| get(data, k).and_then(json::text).filter(|s| !s.is_empty());
    crate::store::Os {
        name: text("os_name"),
        version: text("os_version"),
        major: text("os_major"),
        minor: text("os_minor"),
        codename: text("os_codename"),
        build: text("os_build"),
        platform: text("os_platform"),
        uname: text("sysname").map(|s| {
            [Some(s), text("hostname"), text("release"), text("version"), text("architecture")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" |")
        }),
        arch: text("architecture"),
    }
}

/// Decodes one queue `d` message.
pub fn decode(ctx: &mut Context<'_, '_>, owner: Owner, pre: Predecoded) -> Result<Handled, ModuleError> {
    let location = super::module_location(&pre);
    if location != "syscollector" {
        return Err(ModuleError::invalid(MODULE, format!("invalid location '{location}'")));
    }
    let root = json::parse(MODULE, &pre.log)?;
    let kind_name = str_of(&root, "type").ok_or_else(|| ModuleError::invalid(MODULE, "no message type"))?;
    let Some(table) = kind_name.strip_prefix("dbsync_") else {
        return Err(ModuleError::invalid(MODULE, format!("message type '{kind_name}' not supported")));
    };
    let kind = kind(table).ok_or_else(|| ModuleError::invalid(MODULE, format!("unknown table '{table}'")))?;
    let (Some(operation), Some(data @ Json::Object(_))) = (str_of(&root, "operation"), get(&root, "data")) else {
        return Err(ModuleError::invalid(MODULE, "a delta needs 'operation' and an object 'data'"));
    };
    match operation {
        "INSERTED" | "MODIFIED" => {
            save(ctx, owner, kind, data)?;
        }
        "DELETED" => {
            if let Some(key) = kind.key(data) {
                ctx.state.delete(owner, kind.table, &key)?;
            }
        }
        other => return Err(ModuleError::invalid(MODULE, format!("unknown operation '{other}'"))),
    }
    let fields = kind.fields(data);
    let kind_name = kind_name.to_owned();
    let operation = operation.to_owned();
    drop(root);
    let mut event = ctx.event(pre, Builtin::Syscollector);
    event.push_dynamic("type".into(), kind_name);
    for (key, value) in fields {
        event.push_dynamic(key.into(), value);
    }
    event.push_dynamic("operation_type".into(), operation);
    Ok(Handled::Event(Box::new(event)))
}
