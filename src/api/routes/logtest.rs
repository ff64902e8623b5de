//! `PUT /logtest` and `DELETE /logtest/sessions/{token}`: the logtest service, through the API.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::Api;
use crate::api::access::{Access, Routes};
use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;
use crate::api::rbac::Action::LogtestRun;
use crate::api::routes::extract::JsonBody;

/// Adds the routes.
pub fn add(routes: Routes) -> Routes {
    routes.add(Method::PUT, "/logtest", Access::Actions(&[LogtestRun]), run).add(
        Method::DELETE,
        "/logtest/sessions/{token}",
        Access::Actions(&[LogtestRun]),
        end_session,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    event: Value,
    log_format: String,
    location: String,
    token: Option<String>,
}

/// Sends a request in logtest's protocol and answers with its `data`, as Wazuh's API does.
async fn ask(api: &Api, request: Value) -> ApiResult<Json<Value>> {
    let logtest =
        api.services.logtest.clone().ok_or_else(|| ApiError::wazuh(7000, "Logtest is disabled (<rule_test>)"))?;
    let text = request.to_string();
    let answer = tokio::task::spawn_blocking(move || logtest.handle(&text)).await.map_err(ApiError::internal)?;
    let answer: Value = serde_json::from_str(&answer).map_err(ApiError::internal)?;
    if answer["error"].as_i64() != Some(0) {
        let message = answer["message"].as_str().unwrap_or("logtest refused the request");
        return Err(ApiError::wazuh(7000, message.to_owned()));
    }
    Ok(Json(json!({"data": answer["data"], "error": 0})))
}

async fn run(State(api): State<Arc<Api>>, JsonBody(r): JsonBody<Request>) -> ApiResult<Json<Value>> {
    let mut parameters = json!({"event": r.event, "log_format": r.log_format, "location": r.location});
    if let Some(token) = r.token {
        parameters["token"] = token.into();
    }
    ask(&api, json!({"version": 1, "command": "log_processing", "parameters": parameters})).await
}

async fn end_session(
    State(api): State<Arc<Api>>,
    Path(token): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    Params::accept(q.as_deref(), &[])?;
    let answer = ask(&api, json!({"version": 1, "command": "remove_session", "parameters": {"token": token}})).await?;
    let message = answer.0["data"]["messages"][0].as_str().unwrap_or("").trim_start_matches("INFO: ").to_owned();
    Ok(Json(json!({"data": {}, "message": message, "error": 0})))
}
