//! `/syscollector/{agent_id}/…`: an agent's inventory, one route per table, with Wazuh's field
//! names (columns renamed and nested as its API does).

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::Method;
use serde_json::Value;

use super::{answer, item, owner, rows};
use crate::api::Api;
use crate::api::access::{Access, Principal, Routes};
use crate::api::envelope::Affected;
use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;
use crate::api::rbac::Action::SyscollectorRead;
use crate::store::state::{Row, Table};

/// Adds the routes.
pub fn add(routes: Routes) -> Routes {
    PATHS
        .iter()
        .fold(routes, |routes, path| routes.add(Method::GET, path, Access::Actions(&[SyscollectorRead]), inventory))
}

/// One path per inventory table (the table is the last segment).
const PATHS: [&str; 13] = [
    "/syscollector/{agent_id}/os",
    "/syscollector/{agent_id}/hardware",
    "/syscollector/{agent_id}/packages",
    "/syscollector/{agent_id}/processes",
    "/syscollector/{agent_id}/ports",
    "/syscollector/{agent_id}/netaddr",
    "/syscollector/{agent_id}/netiface",
    "/syscollector/{agent_id}/netproto",
    "/syscollector/{agent_id}/hotfixes",
    "/syscollector/{agent_id}/users",
    "/syscollector/{agent_id}/groups",
    "/syscollector/{agent_id}/services",
    "/syscollector/{agent_id}/browser_extensions",
];

/// One inventory route: its table, its fields (API name, column) and its filters.
struct Route {
    name: &'static str,
    table: Table,
    fields: &'static [(&'static str, &'static str)],
    /// Columns renamed by prefix (`user_x` → `user.x`), for tables with many columns.
    prefixes: &'static [(&'static str, &'static str)],
    /// Columns shown under a dotted name without nesting (Wazuh nests a prefix only when a row
    /// has several fields under it).
    flat: &'static [(&'static str, &'static str)],
    filters: &'static [&'static str],
}

const ROUTES: [Route; 13] = [
    Route {
        name: "os",
        table: Table::Os,
        fields: &[
            ("hostname", "hostname"),
            ("architecture", "architecture"),
            ("os.name", "os_name"),
            ("os.version", "os_version"),
            ("os.codename", "os_codename"),
            ("os.major", "os_major"),
            ("os.minor", "os_minor"),
            ("os.build", "os_build"),
            ("os.platform", "os_platform"),
            ("os.display_version", "os_display_version"),
            ("sysname", "sysname"),
            ("release", "release"),
            ("version", "version"),
            ("os_release", "os_release"),
        ],
        prefixes: &[],
        flat: &[],
        filters: &[],
    },
    Route {
        name: "hardware",
        table: Table::Hardware,
        fields: &[
            ("board_serial", "board_serial"),
            ("cpu.name", "cpu_name"),
            ("cpu.cores", "cpu_cores"),
            ("cpu.mhz", "cpu_mhz"),
            ("ram.total", "ram_total"),
            ("ram.free", "ram_free"),
            ("ram.usage", "ram_usage"),
        ],
        prefixes: &[],
        flat: &[],
        filters: &[],
    },
    Route {
        name: "packages",
        table: Table::Packages,
        fields: &[
            ("format", "format"),
            ("name", "name"),
            ("priority", "priority"),
            ("section", "groups"),
            ("size", "size"),
            ("vendor", "vendor"),
            ("install_time", "install_time"),
            ("version", "version"),
            ("architecture", "architecture"),
            ("multiarch", "multiarch"),
            ("source", "source"),
            ("description", "description"),
            ("location", "location"),
        ],
        prefixes: &[],
        flat: &[],
        filters: &["vendor", "name", "architecture", "format", "version"],
    },
    Route {
        name: "processes",
        table: Table::Processes,
        fields: &[],
        prefixes: &[("", "")],
        flat: &[],
        filters: &[
            "state", "pid", "ppid", "egroup", "euser", "fgroup", "name", "nlwp", "pgrp", "priority", "rgroup", "ruser",
            "sgroup", "suser",
        ],
    },
    Route {
        name: "ports",
        table: Table::Ports,
        fields: &[
            ("protocol", "protocol"),
            ("local.ip", "local_ip"),
            ("local.port", "local_port"),
            ("remote.ip", "remote_ip"),
            ("remote.port", "remote_port"),
            ("tx_queue", "tx_queue"),
            ("rx_queue", "rx_queue"),
            ("inode", "inode"),
            ("state", "state"),
            ("pid", "pid"),
            ("process", "process"),
        ],
        prefixes: &[],
        flat: &[],
        filters: &["pid", "protocol", "tx_queue", "state", "process", "local.ip", "local.port", "remote.ip"],
    },
    Route {
        name: "netaddr",
        table: Table::NetAddr,
        fields: &[
            ("iface", "iface"),
            ("proto", "proto"),
            ("address", "address"),
            ("netmask", "netmask"),
            ("broadcast", "broadcast"),
        ],
        prefixes: &[],
        flat: &[],
        filters: &["iface", "proto", "address", "broadcast", "netmask"],
    },
    Route {
        name: "netiface",
        table: Table::NetIface,
        fields: &[
            ("name", "name"),
            ("adapter", "adapter"),
            ("type", "type"),
            ("state", "state"),
            ("mtu", "mtu"),
            ("mac", "mac"),
            ("tx.packets", "tx_packets"),
            ("rx.packets", "rx_packets"),
            ("tx.bytes", "tx_bytes"),
            ("rx.bytes", "rx_bytes"),
            ("tx.errors", "tx_errors"),
            ("rx.errors", "rx_errors"),
            ("tx.dropped", "tx_dropped"),
            ("rx.dropped", "rx_dropped"),
        ],
        prefixes: &[],
        flat: &[],
        filters: &[
            "name",
            "adapter",
            "type",
            "state",
            "mtu",
            "tx.packets",
            "rx.packets",
            "tx.bytes",
            "rx.bytes",
            "tx.errors",
            "rx.errors",
            "tx.dropped",
            "rx.dropped",
        ],
    },
    Route {
        name: "netproto",
        table: Table::NetProto,
        fields: &[("iface", "iface"), ("type", "type"), ("gateway", "gateway"), ("dhcp", "dhcp")],
        prefixes: &[],
        flat: &[],
        filters: &["iface", "type", "gateway", "dhcp"],
    },
    Route {
        name: "hotfixes",
        table: Table::Hotfixes,
        fields: &[("hotfix", "hotfix")],
        prefixes: &[],
        flat: &[],
        filters: &["hotfix"],
    },
    Route {
        name: "users",
        table: Table::Users,
        fields: &[],
        prefixes: &[("user_", "user."), ("login_", "login."), ("", "")],
        flat: &[],
        filters: &[],
    },
    Route {
        name: "groups",
        table: Table::Groups,
        fields: &[],
        prefixes: &[("group_", "group."), ("", "")],
        flat: &[],
        filters: &[],
    },
    Route {
        name: "services",
        table: Table::Services,
        fields: &[],
        prefixes: &[("service_", "service."), ("process_", "process."), ("", "")],
        flat: &[
            ("file_path", "file.path"),
            ("log_file_path", "log_file.path"),
            ("error_log_file_path", "error_log_file.path"),
        ],
        filters: &[],
    },
    Route {
        name: "browser_extensions",
        table: Table::BrowserExtensions,
        fields: &[],
        prefixes: &[("browser_", "browser."), ("package_", "package."), ("", "")],
        flat: &[("user_id", "user.id"), ("file_hash_sha256", "file_hash.sha256")],
        filters: &[],
    },
];

/// The item of one row: named fields, or every column renamed by the first matching prefix.
fn shape(route: &Route, row: &Row) -> Value {
    let mut v = if route.fields.is_empty() {
        let mut out = Value::Object(serde_json::Map::new());
        for (column, value) in row.iter().filter(|(c, _)| !matches!(c.as_str(), "scan_time" | "item_id")) {
            if let (Some((_, key)), Some(obj)) = (route.flat.iter().find(|(c, _)| c == column), out.as_object_mut()) {
                obj.insert((*key).to_owned(), value.clone());
                continue;
            }
            let renamed = route
                .prefixes
                .iter()
                .find_map(|(from, to)| column.strip_prefix(from).map(|rest| format!("{to}{rest}")))
                .unwrap_or_else(|| column.clone());
            let renamed = if route.name == "processes" && column == "argvs" { "argvs".to_owned() } else { renamed };
            crate::api::query::list::insert_path(&mut out, &renamed, value.clone());
        }
        out
    } else {
        item(row, route.fields)
    };
    if let Some(obj) = v.as_object_mut() {
        let mut scan = serde_json::Map::new();
        scan.insert("id".into(), Value::from(0));
        if let Some(t) = row.get("scan_time").and_then(Value::as_str) {
            scan.insert("time".into(), Value::from(scan_time(t)));
        }
        obj.insert("scan".into(), Value::Object(scan));
    }
    v
}

/// `2026/11/27 00:00:00` as the API shows it: `2026-11-27T00:00:00+00:00`.
fn scan_time(t: &str) -> String {
    match t.split_once(' ') {
        Some((day, time)) if day.len() == 10 => format!("{}T{time}+00:00", day.replace('/', "-")),
        _ => t.to_owned(),
    }
}

/// `GET /syscollector/{agent_id}/{kind}`.
async fn inventory(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path(agent_id): Path<String>,
    uri: axum::http::Uri,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let kind = uri.path().rsplit('/').next().unwrap_or_default();
    let route = ROUTES
        .iter()
        .find(|r| r.name == kind)
        .ok_or_else(|| ApiError::bad_request(format!("'{kind}' is not an inventory type")))?;
    let params = Params::parse(q.as_deref());
    let owner = owner(&api, &me, SyscollectorRead, &agent_id)?;
    let mut items: Vec<Value> = rows(&api, owner, route.table)?.iter().map(|r| shape(route, r)).collect();
    let id = owner.to_string();
    for item in &mut items {
        if let Some(obj) = item.as_object_mut() {
            obj.insert("agent_id".into(), Value::from(id.as_str()));
        }
    }
    answer(
        items,
        &params,
        route.filters,
        ("scan.id", true),
        [
            "All specified syscollector information was returned",
            "Some syscollector information was not returned",
            "No syscollector information was returned",
        ],
    )
}
