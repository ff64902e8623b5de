//! `/syscheck`: an agent's FIM entries, its last scan, and scans on request.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::Method;
use serde_json::{Value, json};

use super::{answer, date, item, owner, rows};
use crate::api::Api;
use crate::api::access::{Access, Principal, Routes};
use crate::api::envelope::Affected;
use crate::api::error::ApiResult;
use crate::api::query::Params;
use crate::api::rbac::Action::{SyscheckClear, SyscheckRead, SyscheckRun};
use crate::remote::commands::Kind;
use crate::store::Status;
use crate::store::state::{Row, Table};

/// Adds the routes.
pub fn add(routes: Routes) -> Routes {
    routes
        .add(Method::GET, "/syscheck/{agent_id}", Access::Actions(&[SyscheckRead]), list)
        .add(Method::GET, "/syscheck/{agent_id}/last_scan", Access::Actions(&[SyscheckRead]), last_scan)
        .add(Method::PUT, "/syscheck", Access::Actions(&[SyscheckRun]), run)
        .add(Method::DELETE, "/syscheck/{agent_id}", Access::Actions(&[SyscheckClear]), clear)
}

/// The filters `GET /syscheck/{agent_id}` takes besides the list parameters.
const FILTERS: &[&str] = &["file", "arch", "value.name", "value.type", "type", "md5", "sha1", "sha256"];

fn entry(row: &Row) -> Value {
    let mut v = item(
        row,
        &[
            ("file", "file"),
            ("type", "type"),
            ("perm", "perm"),
            ("uid", "uid"),
            ("gid", "gid"),
            ("uname", "uname"),
            ("gname", "gname"),
            ("md5", "md5"),
            ("sha1", "sha1"),
            ("sha256", "sha256"),
            ("size", "size"),
            ("inode", "inode"),
            ("changes", "changes"),
            ("attributes", "attributes"),
            ("arch", "arch"),
            ("value.name", "value_name"),
            ("value.type", "value_type"),
        ],
    );
    for (name, column) in [("mtime", "mtime"), ("date", "date")] {
        if let (Some(obj), Some(d)) = (v.as_object_mut(), date(row.get(column))) {
            obj.insert(name.into(), d);
        }
    }
    v
}

/// `GET /syscheck/{agent_id}`.
async fn list(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path(agent_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::parse(q.as_deref());
    let owner = owner(&api, &me, SyscheckRead, &agent_id)?;
    let mut entries = rows(&api, owner, Table::FimFile)?;
    entries.extend(rows(&api, owner, Table::FimRegistry)?);
    let mut items: Vec<Value> = entries.iter().map(entry).collect();
    // `hash` matches any of the three digests; `summary` keeps the identifying fields.
    let hash = params.get("hash").map(str::to_owned);
    if let Some(h) = &hash {
        items.retain(|i| ["md5", "sha1", "sha256"].iter().any(|k| i.get(k).and_then(Value::as_str) == Some(h)));
    }
    if params.flag("summary", false)? {
        let keep = ["file", "mtime", "changes", "date"];
        for i in &mut items {
            if let Some(obj) = i.as_object_mut() {
                obj.retain(|k, _| keep.contains(&k.as_str()));
            }
        }
    }
    let filters = [FILTERS, &["hash", "summary"]].concat();
    answer(
        items,
        &params,
        &filters,
        ("file", true),
        [
            "FIM findings of the agent were returned",
            "Some FIM findings were not returned",
            "No FIM information was returned",
        ],
    )
}

/// `GET /syscheck/{agent_id}/last_scan`.
async fn last_scan(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path(agent_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let owner = owner(&api, &me, SyscheckRead, &agent_id)?;
    let scan = api.store.state().read(|r| r.get(owner, Table::ScanInfo, "fim"))?.unwrap_or_default();
    let start = date(scan.get("start_scan"));
    let end = date(scan.get("end_scan")).filter(|_| {
        // A scan still running has no end yet.
        scan.get("end_scan").and_then(Value::as_i64) >= scan.get("start_scan").and_then(Value::as_i64)
    });
    let item = json!({"start": start, "end": end});
    Ok(Affected::new("Last syscheck scan of the agent was returned", "", "").page(vec![item], 1))
}

/// `PUT /syscheck`: asks agents to run a scan now (`#!-syscheck restart`).
pub async fn run(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    scan_now(
        &api,
        &me,
        q.as_deref(),
        SyscheckRun,
        [
            "Syscheck scan was restarted on returned agents",
            "Syscheck scan was not restarted on some agents",
            "No syscheck scan was restarted",
        ],
    )
}

/// Sends `syscheck restart` (FIM and rootcheck run together on agents) to the agents named.
pub fn scan_now(
    api: &Api,
    me: &Principal,
    q: Option<&str>,
    action: crate::api::rbac::Action,
    messages: [&str; 3],
) -> ApiResult<Affected> {
    let params = Params::accept(q, &["agents_list"])?;
    let [all, some, none] = messages;
    let mut out = Affected::new(all, some, none);
    let named = params.list("agents_list");
    let agents = crate::api::routes::agents::chosen(api, me, action, named.as_deref(), |_| true, &mut out)?;
    // Without a list only agents that can take it are asked, as Wazuh does.
    let agents =
        if named.is_none() { agents.into_iter().filter(|a| a.status == Status::Active).collect() } else { agents };
    crate::api::routes::agents::send_to(api, agents, b"#!-syscheck restart", Kind::Control, &mut out)?;
    Ok(out)
}

/// `DELETE /syscheck/{agent_id}`: forgets the agent's FIM entries.
async fn clear(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path(agent_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    super::clear(&api, &me, SyscheckClear, &agent_id, &[Table::FimFile, Table::FimRegistry], "Syscheck")
}
