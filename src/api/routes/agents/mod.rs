//! `/agents/*` and `/overview/agents`: the registry as Wazuh's API shows it, registration and
//! removal, group assignments, and commands to connected agents.

mod assign;
mod commands;
mod list;
mod live;
mod manage;

use std::borrow::Cow;

use axum::http::{Method, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};

use super::pick::pick;
use crate::api::Api;
use crate::api::access::{Access, Principal, Routes};
use crate::api::envelope::{Affected, ItemError};
use crate::api::error::{ApiError, ApiResult};
use crate::api::rbac::Action::*;
use crate::api::rbac::{Action, Target};
use crate::remote::commands::Kind;
use crate::store::Agent;
use crate::store::Status;

/// Adds the routes.
pub fn add(routes: Routes) -> Routes {
    const MODIFY_GROUP: Access = Access::Actions(&[AgentModifyGroup, GroupModifyAssignments]);
    routes
        .add(Method::GET, "/agents", Access::Actions(&[AgentRead]), list::list)
        .add(Method::POST, "/agents", Access::Actions(&[AgentCreate]), manage::add)
        .add(Method::DELETE, "/agents", Access::Actions(&[AgentDelete]), manage::delete)
        .add(Method::POST, "/agents/insert", Access::Actions(&[AgentCreate]), manage::insert)
        .add(Method::POST, "/agents/insert/quick", Access::Actions(&[AgentCreate]), manage::insert_quick)
        .add(Method::GET, "/agents/{agent_id}/key", Access::Actions(&[AgentRead]), manage::key)
        .add(
            Method::GET,
            "/agents/{agent_id}/config/{component}/{configuration}",
            Access::Actions(&[AgentRead]),
            live::config,
        )
        .add(Method::GET, "/agents/{agent_id}/group/is_sync", Access::Actions(&[AgentRead]), live::is_sync)
        .add(Method::GET, "/agents/summary/status", Access::Actions(&[AgentRead]), list::summary_status)
        .add(Method::GET, "/agents/summary/os", Access::Actions(&[AgentRead]), list::summary_os)
        .add(Method::GET, "/agents/no_group", Access::Actions(&[AgentRead]), list::no_group)
        .add(Method::GET, "/agents/outdated", Access::Actions(&[AgentRead]), list::outdated)
        .add(Method::GET, "/agents/stats/distinct", Access::Actions(&[AgentRead]), list::distinct)
        .add(Method::GET, "/overview/agents", Access::Actions(&[AgentRead, GroupRead]), list::overview)
        .add(Method::PUT, "/agents/restart", Access::Actions(&[AgentRestart]), commands::restart_many)
        .add(Method::PUT, "/agents/{agent_id}/restart", Access::Actions(&[AgentRestart]), commands::restart_one)
        .add(Method::PUT, "/agents/group/{group_id}/restart", Access::Actions(&[AgentRestart]), commands::restart_group)
        .add(Method::PUT, "/agents/reconnect", Access::Actions(&[AgentReconnect]), commands::reconnect)
        .add(Method::PUT, "/agents/{agent_id}/group/{group_id}", MODIFY_GROUP, assign::add_one)
        .add(Method::DELETE, "/agents/{agent_id}/group/{group_id}", MODIFY_GROUP, assign::remove_one)
        .add(Method::DELETE, "/agents/{agent_id}/group", MODIFY_GROUP, assign::remove_from_groups)
        .add(Method::PUT, "/agents/group", MODIFY_GROUP, assign::add_many)
        .add(Method::DELETE, "/agents/group", MODIFY_GROUP, assign::remove_many)
}

/// The registered agents named (`None`: every one) that `keep` accepts and the caller may
/// `action`; the manager's id (000), missing and forbidden ids are recorded in `out`.
pub fn chosen(
    api: &Api,
    me: &Principal,
    action: Action,
    named: Option<&[String]>,
    keep: impl Fn(&Agent) -> bool,
    out: &mut Affected,
) -> ApiResult<Vec<Agent>> {
    if named.is_some_and(|n| n.iter().any(|id| id == "000")) {
        out.fail(ItemError::MANAGER, "000");
    }
    let named: Option<Vec<String>> = named.map(|n| n.iter().filter(|id| *id != "000").cloned().collect());
    let agents = api.store.agents()?.into_iter().filter(|a| keep(a)).map(|a| (a.id.to_string(), a));
    Ok(pick(named.as_deref(), agents, |a| may(me, action, a), ItemError::NO_AGENT, out))
}

/// An answer about the one agent `raw` names: `view` of it, or its failure (1701, 4000).
pub fn one_agent(
    api: &Api,
    me: &Principal,
    raw: &str,
    messages: [&str; 3],
    view: impl FnOnce(&Agent) -> Value,
) -> ApiResult<Affected> {
    let [all, some, none] = messages;
    let mut out = Affected::new(all, some, none);
    let agent = raw.parse::<crate::store::AgentId>().ok().map(|id| api.store.agent(id)).transpose()?.flatten();
    match agent {
        Some(a) if may(me, AgentRead, &a) => out.push(view(&a)),
        Some(_) => out.fail(ItemError::DENIED, raw),
        None => out.fail(ItemError::NO_AGENT, raw),
    }
    Ok(out)
}

/// Sends `payload` to each of `agents` (through the node holding it, in a cluster); those not
/// connected fail with 1707.
pub fn send_to(api: &Api, agents: Vec<Agent>, payload: &[u8], kind: Kind, out: &mut Affected) -> ApiResult<()> {
    let Some(commands) = &api.services.commands else {
        return Err(ApiError::internal("the agent connection service is not running"));
    };
    // In a cluster another node may hold the agent: its status here says nothing, and asking
    // that node blocks this thread for a moment.
    let clustered = api.services.cluster.is_some();
    for agent in agents {
        let id = agent.id.to_string();
        if agent.status != Status::Active && !clustered {
            out.fail(ItemError::NOT_ACTIVE, id);
            continue;
        }
        let sent = if clustered {
            tokio::task::block_in_place(|| commands.send_anywhere(agent.id, payload, kind))
        } else {
            commands.send(agent.id, payload, kind)
        };
        match sent {
            Ok(()) => out.push(Value::from(id)),
            Err(e) => {
                tracing::warn!(stage = "api", agent = %agent.id, "message not sent: {e}");
                out.fail(ItemError::NOT_ACTIVE, id);
            }
        }
    }
    Ok(())
}

/// A time as the API prints agent dates.
pub fn iso(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map_or_else(|_| String::new(), |ts| ts.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string())
}

/// The agent `raw` names, if it exists (else 1701, 404) and the caller may `action` it.
pub fn checked(api: &Api, me: &Principal, action: Action, raw: &str) -> ApiResult<Agent> {
    let missing = || ApiError::wazuh(1701, format!("Agent does not exist: {raw}")).with_status(StatusCode::NOT_FOUND);
    let id: crate::store::AgentId = raw.parse().map_err(|_| missing())?;
    let agent = api.store.agent(id)?.ok_or_else(missing)?;
    if may(me, action, &agent) { Ok(agent) } else { Err(denied(raw)) }
}

/// The error for an agent the caller may not act on.
pub fn denied(raw: &str) -> ApiError {
    ApiError::permission_denied(format!("Permission denied: Resource type: agent:id:{raw}"))
}

/// Whether the caller may `action` this agent.
pub fn may(me: &Principal, action: Action, agent: &Agent) -> bool {
    let groups: Vec<&str> = agent.groups.iter().map(|g| g.as_str()).collect();
    me.permissions.allows(action, &Target::Agent { id: &agent.id.to_string(), groups: &groups })
}

/// An agent as `GET /agents` shows it; absent values are left out, as Wazuh does. Lists
/// serialize these directly.
#[derive(Debug, Serialize)]
pub struct AgentView<'a> {
    id: String,
    name: &'a str,
    ip: &'a str,
    #[serde(rename = "registerIP")]
    register_ip: &'a str,
    status: &'static str,
    status_code: u8,
    #[serde(rename = "dateAdd")]
    date_add: String,
    manager: &'a str,
    node_name: Cow<'a, str>,
    group_config_status: &'static str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    group: &'a [crate::store::GroupName],
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<Cow<'a, str>>,
    #[serde(rename = "lastKeepAlive", skip_serializing_if = "Option::is_none")]
    last_keepalive: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disconnection_time: Option<String>,
    #[serde(rename = "mergedSum", skip_serializing_if = "Option::is_none")]
    merged_sum: Option<&'a str>,
    #[serde(rename = "configSum", skip_serializing_if = "Option::is_none")]
    config_sum: Option<&'a str>,
    #[serde(skip_serializing_if = "is_empty_os")]
    os: Cow<'a, crate::store::Os>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    labels: &'a std::collections::BTreeMap<String, String>,
}

#[allow(clippy::ptr_arg, reason = "serde's skip_serializing_if passes the field itself")]
fn is_empty_os(os: &Cow<'_, crate::store::Os>) -> bool {
    os.is_empty()
}

impl<'a> AgentView<'a> {
    /// The view of `a` served by `api`.
    /// In a cluster, an agent connected to another node shows as active there.
    pub fn new(api: &'a Api, a: &'a Agent) -> Self {
        let elsewhere =
            api.services.cluster.as_ref().and_then(|c| c.holders.get(a.id)).filter(|h| h.node != api.node_name());
        let elsewhere = elsewhere.filter(|_| a.status != Status::Active);
        let (status, node_name) = match &elsewhere {
            Some(holder) => ("active", holder.node.clone().into()),
            None => (a.status.as_str(), a.node_name.as_deref().unwrap_or(api.node_name()).into()),
        };
        // What the holding node announced: version and operating system.
        let (version, os) = match elsewhere {
            Some(holder) => (holder.version.map(Cow::Owned), Cow::Owned(holder.os)),
            None => (a.version.as_deref().map(Cow::Borrowed), Cow::Borrowed(&a.os)),
        };
        Self {
            id: a.id.to_string(),
            name: a.name.as_str(),
            ip: a.last_ip.as_deref().unwrap_or(a.ip.as_str()),
            register_ip: a.ip.as_str(),
            status,
            status_code: a.status_code,
            date_add: iso(a.registered_at),
            manager: &api.hostname,
            node_name,
            group_config_status: if a.config_synced { "synced" } else { "not synced" },
            group: &a.groups,
            version,
            last_keepalive: a.last_keepalive.map(iso),
            disconnection_time: a.disconnected_at.map(iso),
            merged_sum: a.merged_sum.as_deref(),
            config_sum: a.config_sum.as_deref(),
            os,
            labels: &a.labels,
        }
    }
}

/// An agent as `GET /agents` shows it, as a value (for filtering and sorting).
pub fn agent_json(api: &Api, a: &Agent) -> Value {
    serde_json::to_value(AgentView::new(api, a)).unwrap_or_default()
}

/// Agent 000: the manager itself, always active.
pub fn manager_json(api: &Api) -> Value {
    json!({
        "id": "000",
        "name": api.hostname,
        "ip": "127.0.0.1",
        "registerIP": "127.0.0.1",
        "status": "active",
        "status_code": 0,
        "dateAdd": iso(api.started),
        "lastKeepAlive": "9999-12-31T23:59:59+00:00",
        "manager": api.hostname,
        "node_name": api.node_name(),
        "version": format!("Wazuh v{}", crate::api::routes::info::WAZUH_API_VERSION),
        "group_config_status": "synced",
        "os": crate::api::host::os(),
    })
}
