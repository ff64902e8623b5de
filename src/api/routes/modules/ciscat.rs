//! `/ciscat/{agent_id}/results`: the agent's latest CIS-CAT scan.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::Method;
use serde_json::Value;

use super::{answer, item, owner, rows};
use crate::api::Api;
use crate::api::access::{Access, Principal, Routes};
use crate::api::envelope::Affected;
use crate::api::error::ApiResult;
use crate::api::query::Params;
use crate::api::rbac::Action::CiscatRead;
use crate::store::state::Table;

/// Adds the route.
pub fn add(routes: Routes) -> Routes {
    routes.add(Method::GET, "/ciscat/{agent_id}/results", Access::Actions(&[CiscatRead]), results)
}

/// The columns of a result, by API name; the counts are also filters.
const FIELDS: [(&str, &str); 10] = [
    ("scan.id", "scan_id"),
    ("scan.time", "scan_time"),
    ("benchmark", "benchmark"),
    ("profile", "profile"),
    ("pass", "pass"),
    ("fail", "fail"),
    ("error", "error"),
    ("notchecked", "notchecked"),
    ("unknown", "unknown"),
    ("score", "score"),
];

/// `GET /ciscat/{agent_id}/results`.
async fn results(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path(agent_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::parse(q.as_deref());
    let owner = owner(&api, &me, CiscatRead, &agent_id)?;
    let id = owner.to_string();
    let items = rows(&api, owner, Table::Ciscat)?
        .iter()
        .map(|r| {
            let mut v = item(r, &FIELDS);
            if let Some(obj) = v.as_object_mut() {
                obj.insert("agent_id".into(), Value::from(id.as_str()));
            }
            v
        })
        .collect();
    let filters: Vec<&str> = FIELDS[2..].iter().map(|(name, _)| *name).collect();
    answer(
        items,
        &params,
        &filters,
        ("scan.id", true),
        [
            "All CISCAT results were returned",
            "Some CISCAT results were not returned",
            "No CISCAT results were returned",
        ],
    )
}
