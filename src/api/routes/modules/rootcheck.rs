//! `/rootcheck`: an agent's rootcheck findings and last scan.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::Method;
use serde_json::{Value, json};

use super::{answer, owner, rows};
use crate::api::Api;
use crate::api::access::{Access, Principal, Routes};
use crate::api::envelope::Affected;
use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;
use crate::api::rbac::Action::{RootcheckClear, RootcheckRead, RootcheckRun};
use crate::store::state::{Row, Table};

/// Adds the routes.
pub fn add(routes: Routes) -> Routes {
    routes
        .add(Method::GET, "/rootcheck/{agent_id}", Access::Actions(&[RootcheckRead]), list)
        .add(Method::GET, "/rootcheck/{agent_id}/last_scan", Access::Actions(&[RootcheckRead]), last_scan)
        .add(Method::PUT, "/rootcheck", Access::Actions(&[RootcheckRun]), run)
        .add(Method::DELETE, "/rootcheck/{agent_id}", Access::Actions(&[RootcheckClear]), clear)
}

const STARTED: &str = "Starting rootcheck scan.";
const ENDED: &str = "Ending rootcheck scan.";
/// Scan markers, not findings.
const MARKERS: [&str; 4] = [STARTED, ENDED, "Starting syscheck scan.", "Ending syscheck scan."];
/// Findings seen this long before the last scan's end are still outstanding.
const OUTSTANDING: i64 = 86_400;

fn when(row: Option<&Row>) -> Option<i64> {
    row.and_then(|r| r.get("date_last")).and_then(Value::as_i64)
}

fn utc(t: i64) -> Value {
    jiff::Timestamp::from_second(t).map_or(Value::Null, |ts| Value::from(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()))
}

/// `GET /rootcheck/{agent_id}`.
async fn list(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path(agent_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::parse(q.as_deref());
    let owner = owner(&api, &me, RootcheckRead, &agent_id)?;
    let findings = rows(&api, owner, Table::Rootcheck)?;
    let ended = when(findings.iter().find(|r| r.get("log").and_then(Value::as_str) == Some(ENDED)));
    let status = params.get("status").unwrap_or("all");
    if !matches!(status, "all" | "outstanding" | "solved") {
        return Err(ApiError::wazuh(
            1603,
            format!("Invalid status. Valid statuses are: all, outstanding and solved: {status}"),
        ));
    }
    // Without a finished scan there is nothing to judge findings by (as Wazuh answers).
    let items: Vec<Value> = match ended {
        None => Vec::new(),
        Some(end) => findings
            .iter()
            .filter(|r| !MARKERS.contains(&r.get("log").and_then(Value::as_str).unwrap_or_default()))
            .map(|r| {
                let last = when(Some(r)).unwrap_or(0);
                let state = if last >= end - OUTSTANDING { "outstanding" } else { "solved" };
                let mut item = json!({
                    "status": state,
                    "log": r.get("log"),
                    "date_first": utc(r.get("date_first").and_then(Value::as_i64).unwrap_or(0)),
                    "date_last": utc(last),
                });
                for k in ["pci_dss", "cis"] {
                    if let (Some(v), Some(obj)) = (r.get(k), item.as_object_mut()) {
                        obj.insert(k.into(), v.clone());
                    }
                }
                item
            })
            .filter(|i| status == "all" || i["status"] == status)
            .collect(),
    };
    answer(
        items,
        &params,
        &["pci_dss", "cis", "status"],
        ("date_last", false),
        [
            "All selected rootcheck information was returned",
            "Some rootcheck information was not returned",
            "No rootcheck information was returned",
        ],
    )
}

/// `GET /rootcheck/{agent_id}/last_scan`.
async fn last_scan(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path(agent_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let owner = owner(&api, &me, RootcheckRead, &agent_id)?;
    let (start, end) = api.store.state().read(|r| {
        Ok((
            when(r.get(owner, Table::Rootcheck, STARTED)?.as_ref()),
            when(r.get(owner, Table::Rootcheck, ENDED)?.as_ref()),
        ))
    })?;
    let end = end.filter(|e| start.is_some_and(|s| *e >= s));
    let item = json!({"start": start.map(utc), "end": end.map(utc)});
    Ok(Affected::new("Last rootcheck scan of the agent was returned", "", "").page(vec![item], 1))
}

/// `PUT /rootcheck`: rootcheck runs with the agents' syscheck scan.
async fn run(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    super::syscheck::scan_now(
        &api,
        &me,
        q.as_deref(),
        RootcheckRun,
        [
            "Rootcheck scan was restarted on returned agents",
            "Rootcheck scan was not restarted on some agents",
            "No rootcheck scan was restarted",
        ],
    )
}

/// `DELETE /rootcheck/{agent_id}`.
async fn clear(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path(agent_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    super::clear(&api, &me, RootcheckClear, &agent_id, &[Table::Rootcheck], "Rootcheck")
}
