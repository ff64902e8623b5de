//! Commands to connected agents: restart (`restart-wazuh0` through the agent's active response,
//! as Wazuh's API sends it) and `force_reconnect`.

use std::sync::Arc;

use axum::extract::{Extension, Path, RawQuery, State};
use serde_json::json;

use crate::api::Api;
use crate::api::access::Principal;
use crate::api::envelope::Affected;
use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;
use crate::api::rbac::Action;
use crate::remote::commands::Kind;
use crate::store::{Agent, GroupName};

/// What is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Restart,
    Reconnect,
}

impl Command {
    fn payload(self) -> Vec<u8> {
        match self {
            // Wazuh's RESTART_AGENTS_JSON with the restart suffix remoted forwards to execd.
            Self::Restart => {
                let message = json!({
                    "version": 1,
                    "origin": {"name": null, "module": "API"},
                    "command": "restart-wazuh0",
                    "parameters": {"extra_args": [], "alert": {}},
                });
                format!("#!-execd {message} - null (from_the_server) (no_rule_id)").into_bytes()
            }
            Self::Reconnect => b"#!-force_reconnect".to_vec(),
        }
    }

    fn kind(self) -> Kind {
        match self {
            Self::Restart => Kind::ActiveResponse,
            Self::Reconnect => Kind::Control,
        }
    }

    fn action(self) -> Action {
        match self {
            Self::Restart => Action::AgentRestart,
            Self::Reconnect => Action::AgentReconnect,
        }
    }

    fn messages(self) -> [&'static str; 3] {
        match self {
            Self::Restart => [
                "Restart command was sent to all agents",
                "Restart command was not sent to some agents",
                "Restart command was not sent to any agent",
            ],
            Self::Reconnect => [
                "Reconnect command was sent to all agents",
                "Reconnect command was not sent to some agents",
                "Reconnect command was not sent to any agent",
            ],
        }
    }
}

/// Sends `command` to the chosen agents; those not connected fail with 1707.
fn send(
    api: &Api,
    me: &Principal,
    command: Command,
    named: Option<&[String]>,
    only: impl Fn(&Agent) -> bool,
) -> ApiResult<Affected> {
    let [all, some, none] = command.messages();
    let mut out = Affected::new(all, some, none);
    let agents = super::chosen(api, me, command.action(), named, only, &mut out)?;
    super::send_to(api, agents, &command.payload(), command.kind(), &mut out)?;
    Ok(out)
}

/// `PUT /agents/restart[?agents_list=]`.
pub async fn restart_many(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &["agents_list"])?;
    send(&api, &me, Command::Restart, params.list("agents_list").as_deref(), |_| true)
}

/// `PUT /agents/{agent_id}/restart`.
pub async fn restart_one(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path(agent_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    send(&api, &me, Command::Restart, Some(&[agent_id]), |_| true)
}

/// `PUT /agents/group/{group_id}/restart`.
pub async fn restart_group(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path(group_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let group: GroupName = group_id.parse().map_err(|e| ApiError::bad_request(format!("{e}")))?;
    if !api.store.groups()?.iter().any(|g| g.name == group) {
        return Err(ApiError::wazuh(1710, format!("The group does not exist: {group}"))
            .with_status(axum::http::StatusCode::NOT_FOUND));
    }
    send(&api, &me, Command::Restart, None, |a| a.groups.contains(&group))
}

/// `PUT /agents/reconnect[?agents_list=]`.
pub async fn reconnect(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &["agents_list"])?;
    send(&api, &me, Command::Reconnect, params.list("agents_list").as_deref(), |_| true)
}
