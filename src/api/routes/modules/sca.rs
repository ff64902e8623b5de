//! `/sca`: an agent's assessment policies with their last scan, and each policy's checks.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::Method;
use serde_json::Value;

use super::{answer, date, item, owner, rows};
use crate::api::Api;
use crate::api::access::{Access, Principal, Routes};
use crate::api::envelope::Affected;
use crate::api::error::ApiResult;
use crate::api::query::Params;
use crate::api::rbac::Action::ScaRead;
use crate::store::state::Table;

/// Adds the routes.
pub fn add(routes: Routes) -> Routes {
    routes.add(Method::GET, "/sca/{agent_id}", Access::Actions(&[ScaRead]), policies).add(
        Method::GET,
        "/sca/{agent_id}/checks/{policy_id}",
        Access::Actions(&[ScaRead]),
        checks,
    )
}

const MESSAGES: [&str; 3] = [
    "All selected sca information was returned",
    "Some sca information was not returned",
    "No sca information was returned",
];

/// `GET /sca/{agent_id}`.
async fn policies(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path(agent_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::parse(q.as_deref());
    let owner = owner(&api, &me, ScaRead, &agent_id)?;
    let scans = rows(&api, owner, Table::ScaScan)?;
    let items = rows(&api, owner, Table::ScaPolicy)?
        .into_iter()
        .map(|policy| {
            let id = policy.get("id").cloned().unwrap_or(Value::Null);
            let mut v = item(
                &policy,
                &[
                    ("policy_id", "id"),
                    ("name", "name"),
                    ("description", "description"),
                    ("references", "references"),
                    ("hash_file", "hash_file"),
                ],
            );
            if let (Some(scan), Some(obj)) = (scans.iter().find(|s| s.get("policy_id") == Some(&id)), v.as_object_mut())
            {
                for (name, column) in [
                    ("pass", "pass"),
                    ("fail", "fail"),
                    ("invalid", "invalid"),
                    ("total_checks", "total_checks"),
                    ("score", "score"),
                ] {
                    if let Some(n) = scan.get(column) {
                        obj.insert(name.into(), n.clone());
                    }
                }
                for (name, column) in [("start_scan", "start_scan"), ("end_scan", "end_scan")] {
                    if let Some(d) = date(scan.get(column)) {
                        obj.insert(name.into(), d);
                    }
                }
            }
            v
        })
        .collect();
    answer(items, &params, &["name", "description", "references"], ("policy_id", false), MESSAGES)
}

/// The filters of `GET /sca/{agent_id}/checks/{policy_id}`.
const CHECK_FIELDS: [&str; 14] = [
    "title",
    "description",
    "rationale",
    "remediation",
    "command",
    "reason",
    "file",
    "process",
    "directory",
    "registry",
    "references",
    "result",
    "condition",
    "policy_id",
];

/// `GET /sca/{agent_id}/checks/{policy_id}`.
async fn checks(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path((agent_id, policy_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::parse(q.as_deref());
    let owner = owner(&api, &me, ScaRead, &agent_id)?;
    let mut fields: Vec<(&str, &str)> = CHECK_FIELDS.iter().map(|f| (*f, *f)).collect();
    fields.extend([("id", "id"), ("compliance", "compliance"), ("rules", "rules")]);
    let items = rows(&api, owner, Table::ScaCheck)?
        .iter()
        .filter(|r| r.get("policy_id").and_then(Value::as_str) == Some(policy_id.as_str()))
        .map(|r| item(r, &fields))
        .collect();
    answer(items, &params, &CHECK_FIELDS[..13], ("id", true), MESSAGES)
}
