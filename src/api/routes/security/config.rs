//! `/security/config` (token lifetime and RBAC mode) and the catalogs `/security/actions` and
//! `/security/resources`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::Api;
use crate::api::envelope::result;
use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;
use crate::api::rbac::model::{MIN_TOKEN_LIFETIME, SecurityConfig};
use crate::api::rbac::{Action, Mode};
use crate::api::routes::json_body;

/// `GET /security/config`.
pub async fn get(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Json<Value>> {
    Params::parse(q.as_deref()).only(&[])?;
    let config = api.security.snapshot().config;
    Ok(result(json!(config), None))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
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
pub async fn put(
    State(api): State<Arc<Api>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    Params::parse(q.as_deref()).only(&[])?;
    let change: Change = json_body(&headers, &body)?;
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
    Params::parse(q.as_deref()).only(&[])?;
    set(&api, SecurityConfig::default())
}

/// `GET /security/actions[?endpoint=]`: every action and the resources it is checked against.
pub async fn actions(RawQuery(q): RawQuery) -> ApiResult<Json<Value>> {
    let params = Params::parse(q.as_deref());
    params.only(&["endpoint"])?;
    let mut map = serde_json::Map::new();
    for action in Action::ALL {
        let resources = crate::api::routes::resource_type(*action);
        let resources = if resources == "agent:id" { json!(["agent:id", "agent:group"]) } else { json!([resources]) };
        map.insert(action.as_str().into(), json!({ "resources": resources }));
    }
    Ok(result(Value::Object(map), None))
}

/// `GET /security/resources[?resource=]`: the resource types.
pub async fn resources(RawQuery(q): RawQuery) -> ApiResult<Json<Value>> {
    const TYPES: &[&str] = &[
        "*:*",
        "agent:group",
        "agent:id",
        "group:id",
        "node:id",
        "decoder:file",
        "list:file",
        "rule:file",
        "policy:id",
        "role:id",
        "rule:id",
        "user:id",
    ];
    let params = Params::parse(q.as_deref());
    params.only(&["resource"])?;
    let wanted = params.get("resource");
    if let Some(w) = wanted.filter(|w| !TYPES.contains(w)) {
        return Err(ApiError::bad_request(format!("'{w}' is not one of the resource types")));
    }
    let map: serde_json::Map<String, Value> = TYPES
        .iter()
        .filter(|t| wanted.is_none_or(|w| w == **t))
        .map(|t| ((*t).to_owned(), json!({ "description": format!("Resource type {t}") })))
        .collect();
    Ok(result(Value::Object(map), None))
}
