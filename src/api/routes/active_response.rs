//! `PUT /active-response`: a command run by agents' active response, sent as Wazuh's API sends
//! it (`#!-execd {json}`). A name starting with `!` is a script on the agent; any other must be
//! one of the manager's `ar.conf` commands.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderMap, Method};
use serde::Deserialize;
use serde_json::{Value, json};

use super::agents::{chosen, send_to};
use super::json_body;
use crate::api::Api;
use crate::api::access::{Access, Principal, Routes};
use crate::api::envelope::Affected;
use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;
use crate::api::rbac::Action::ActiveResponseCommand;
use crate::remote::commands::Kind;

/// Adds the route.
pub fn add(routes: Routes) -> Routes {
    routes.add(Method::PUT, "/active-response", Access::Actions(&[ActiveResponseCommand]), run)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    command: String,
    #[serde(default)]
    arguments: Vec<String>,
    #[serde(default)]
    alert: Option<Value>,
}

/// The message an agent's execd runs.
fn message(request: &Request, node: Option<&str>) -> Vec<u8> {
    let body = json!({
        "version": 1,
        "origin": {"name": node, "module": "API"},
        "command": request.command,
        "parameters": {"extra_args": request.arguments, "alert": request.alert.clone().unwrap_or_else(|| json!({}))},
    });
    format!("#!-execd {body}").into_bytes()
}

/// Checks the command as Wazuh's `validate_command` does.
fn validate(api: &Api, command: &str) -> ApiResult<()> {
    if command.is_empty() {
        return Err(ApiError::wazuh(1650, "Active response - Command not specified"));
    }
    let known = crate::remote::shared::ar_conf(&api.config);
    let listed = known.lines().filter_map(|l| l.split_whitespace().next()).any(|name| name == command);
    if command.starts_with('!') || listed {
        Ok(())
    } else {
        Err(ApiError::wazuh(1652, format!("Active response - Unable to run command: '{command}' is not in ar.conf")))
    }
}

async fn run(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &["agents_list"])?;
    let request: Request = json_body(&headers, &body)?;
    validate(&api, &request.command)?;
    let _commands = api
        .services
        .commands
        .clone()
        .ok_or_else(|| ApiError::internal("the agent connection service is not running"))?;
    let node = (!api.config.cluster.disabled).then(|| api.node_name());
    let payload = message(&request, node);
    let mut out = Affected::new(
        "AR command was sent to all agents",
        "AR command was not sent to some agents",
        "AR command was not sent to any agent",
    );
    let agents = chosen(&api, &me, ActiveResponseCommand, params.list("agents_list").as_deref(), |_| true, &mut out)?;
    send_to(&api, agents, &payload, Kind::ActiveResponse, &mut out)?;
    Ok(out)
}
