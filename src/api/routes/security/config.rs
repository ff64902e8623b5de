//! `/security/config` (token lifetime and RBAC mode) and the catalogs `/security/actions` and
//! `/security/resources`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::Api;
use crate::api::envelope::result;
use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;
use crate::api::rbac::model::{MIN_TOKEN_LIFETIME, SecurityConfig};
use crate::api::rbac::{Action, Mode};
use crate::api::routes::extract::JsonBody;

/// `GET /security/config`.
pub async fn get(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Json<Value>> {
    Params::accept(q.as_deref(), &[])?;
    let config = api.security.snapshot().config;
    Ok(result(json!(config), None))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    auth_token_exp_timeout: Option<u64>,
    rbac_mode: Option<Mode>,
}

/// Sets the config; every token issued before stops working (Wazuh treats them as expired).
fn set(api: &Api, config: SecurityConfig) -> ApiResult<Json<Value>> {
    let now = jiff::Timestamp::now().as_millisecond() + 1;
    api.security.update(|s| {
        s.config = config;
        s.revoked.all = now;
        Ok::<_, ApiError>(())
    })?;
    Ok(result(json!({}), Some("Configuration was successfully updated")))
}

/// `PUT /security/config`.
pub async fn put(State(api): State<Arc<Api>>, JsonBody(change): JsonBody<Change>) -> ApiResult<Json<Value>> {
    if change.auth_token_exp_timeout.is_none() && change.rbac_mode.is_none() {
        return Err(ApiError::bad_request("{} does not have enough properties"));
    }
    let mut config = api.security.snapshot().config;
    if let Some(t) = change.auth_token_exp_timeout {
        if t < MIN_TOKEN_LIFETIME {
            return Err(ApiError::bad_request(format!("{t} is less than the minimum of {MIN_TOKEN_LIFETIME}")));
        }
        config.auth_token_exp_timeout = t;
    }
    if let Some(mode) = change.rbac_mode {
        config.rbac_mode = mode;
    }
    set(&api, config)
}

/// `DELETE /security/config`: back to 900 s and white.
pub async fn reset(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Json<Value>> {
    Params::accept(q.as_deref(), &[])?;
    set(&api, SecurityConfig::default())
}

/// `GET /security/actions[?endpoint=METHOD /path]`: every action (or those the endpoint needs)
/// and the resources it is checked against.
pub async fn actions(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Json<Value>> {
    let params = Params::accept(q.as_deref(), &["endpoint"])?;
    let wanted: Option<Vec<String>> = match params.get("endpoint") {
        None => None,
        Some(endpoint) => {
            let invalid = || ApiError::wazuh(4020, format!("Invalid endpoint specified: {endpoint}"));
            let (method, path) = endpoint.split_once(' ').ok_or_else(invalid)?;
            let operation =
                api.spec.get().and_then(|s| s["paths"].get(path)?.get(method.to_lowercase())).ok_or_else(invalid)?;
            let names = operation["x-rbac-actions"].as_array().into_iter().flatten().filter_map(Value::as_str);
            Some(names.map(str::to_owned).collect())
        }
    };
    let map: serde_json::Map<String, Value> = Action::ALL
        .iter()
        .filter(|a| wanted.as_ref().is_none_or(|w| w.iter().any(|n| n == a.as_str())))
        .map(|a| (a.as_str().to_owned(), json!({ "resources": a.scope().resource_types() })))
        .collect();
    Ok(result(Value::Object(map), None))
}

/// The resource types and what each names.
const RESOURCE_TYPES: &[(&str, &str)] = &[
    ("*:*", "Resourceless actions: creating what does not exist yet, and manager-wide operations"),
    ("agent:group", "Agents, by a group they belong to"),
    ("agent:id", "Agents, by id"),
    ("group:id", "Agent groups, by name"),
    ("node:id", "Cluster nodes, by name"),
    ("decoder:file", "Decoder files, by name"),
    ("list:file", "CDB list files, by name"),
    ("rule:file", "Rule files, by name"),
    ("policy:id", "RBAC policies, by id"),
    ("role:id", "RBAC roles, by id"),
    ("rule:id", "RBAC security rules, by id"),
    ("user:id", "API users, by id"),
];

/// `GET /security/resources[?resource=]`: the resource types.
pub async fn resources(RawQuery(q): RawQuery) -> ApiResult<Json<Value>> {
    let params = Params::accept(q.as_deref(), &["resource"])?;
    let wanted = params.get("resource");
    if let Some(w) = wanted.filter(|w| !RESOURCE_TYPES.iter().any(|(t, _)| t == w)) {
        return Err(ApiError::bad_request(format!("'{w}' is not one of the resource types")));
    }
    let map: serde_json::Map<String, Value> = RESOURCE_TYPES
        .iter()
        .filter(|(t, _)| wanted.is_none_or(|w| w == *t))
        .map(|(t, description)| ((*t).to_owned(), json!({ "description": description })))
        .collect();
    Ok(result(Value::Object(map), None))
}
