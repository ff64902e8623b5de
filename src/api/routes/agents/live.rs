//! What only the agent knows, asked through its connection: its active configuration
//! (`GET /agents/{agent_id}/config/{component}/{configuration}`, a `getconfig` request as
//! Wazuh's API sends it), and whether it holds its group's files.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use serde_json::{Value, json};

use crate::api::Api;
use crate::api::access::Principal;
use crate::api::envelope::{Affected, result};
use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;
use crate::api::rbac::Action;
use crate::store::Status;

/// How long an agent has to answer a configuration request.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// The agent components Wazuh's spec lets a client ask.
const COMPONENTS: &[&str] = &[
    "agent",
    "agentless",
    "analysis",
    "auth",
    "com",
    "csyslog",
    "integrator",
    "logcollector",
    "mail",
    "monitor",
    "request",
    "syscheck",
    "wazuh-db",
    "wmodules",
];

/// What an agent's `ok <json>` / `err <text>` answer means.
fn read_answer(answer: &[u8]) -> ApiResult<Value> {
    let text = String::from_utf8_lossy(answer);
    let (status, rest) = text.split_once(' ').unwrap_or((&text, ""));
    if status == "ok" {
        return serde_json::from_str(rest)
            .map_err(|_| ApiError::wazuh(1116, "Requested component configuration does not exist"));
    }
    // Wazuh's mapping: an agent that cannot be reached or lacks the file is 1117, else 1116.
    let code =
        if rest.contains("No such file or directory") || rest.contains("Cannot send request") { 1117 } else { 1116 };
    Err(ApiError::wazuh(code, format!("Could not get the configuration: {text}")))
}

/// `GET /agents/{agent_id}/config/{component}/{configuration}`.
pub async fn config(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path((agent_id, component, configuration)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    Params::accept(q.as_deref(), &[])?;
    if !COMPONENTS.contains(&component.as_str()) {
        return Err(ApiError::bad_request(format!("'{component}' is not one of {COMPONENTS:?}")));
    }
    if configuration.is_empty() || !configuration.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(ApiError::bad_request(format!("'{configuration}' is not a configuration name")));
    }
    let agent = super::checked(&api, &me, Action::AgentRead, &agent_id)?;
    if agent.status != Status::Active {
        return Err(ApiError::wazuh(1740, "Action only available for active agents"));
    }
    let commands = api
        .services
        .commands
        .clone()
        .ok_or_else(|| ApiError::internal("the agent connection service is not running"))?;
    let command = format!("{component} getconfig {configuration}").into_bytes();
    let answer = tokio::task::spawn_blocking(move || commands.request(agent.id, &command, ANSWER_TIMEOUT))
        .await
        .map_err(ApiError::internal)?;
    Ok(result(read_answer(&answer)?, None))
}

/// `GET /agents/{agent_id}/group/is_sync`.
pub async fn is_sync(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path(agent_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let messages = [
        "Sync info was returned for all selected agents",
        "Sync info was not returned for some selected agents",
        "No sync info was returned",
    ];
    super::one_agent(&api, &me, &agent_id, messages, |a| json!({"id": a.id.to_string(), "synced": a.config_synced}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_answers_read_as_wazuh_reads_them() {
        let ok = read_answer(br#"ok {"active-response":{"disabled":"no"}}"#).expect("ok answer");
        assert_eq!(ok["active-response"]["disabled"], "no");
        assert_eq!(read_answer(b"err Cannot send request").expect_err("err").code, Some(1117));
        assert_eq!(read_answer(b"err Response timeout").expect_err("err").code, Some(1116));
        assert_eq!(read_answer(b"ok not json").expect_err("err").code, Some(1116));
        assert_eq!(read_answer(b"").expect_err("err").code, Some(1116));
    }
}
