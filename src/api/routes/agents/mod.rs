//! `/agents/*` and `/overview/agents`: the registry as Wazuh's API shows it, registration and
//! removal, group assignments, and commands to connected agents.

mod assign;
mod commands;
mod list;
mod manage;

use axum::http::Method;
use serde_json::{Value, json};

use crate::api::Api;
use crate::api::access::{Access, Principal, Routes};
use crate::api::rbac::Action::*;
use crate::api::rbac::{Action, Target};
use crate::store::Agent;

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

/// A time as the API prints agent dates.
pub fn iso(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map_or_else(|_| String::new(), |ts| ts.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string())
}

/// Whether the caller may `action` this agent.
pub fn may(me: &Principal, action: Action, agent: &Agent) -> bool {
    let groups: Vec<&str> = agent.groups.iter().map(|g| g.as_str()).collect();
    me.permissions.allows(action, &Target::Agent { id: &agent.id.to_string(), groups: &groups })
}

/// An agent as `GET /agents` shows it; absent values are left out, as Wazuh does.
pub fn agent_json(api: &Api, a: &Agent) -> Value {
    let mut v = json!({
        "id": a.id.to_string(),
        "name": a.name,
        "ip": a.last_ip.clone().unwrap_or_else(|| a.ip.to_string()),
        "registerIP": a.ip,
        "status": a.status.as_str(),
        "status_code": a.status_code,
        "dateAdd": iso(a.registered_at),
        "manager": api.hostname,
        "node_name": a.node_name.as_deref().unwrap_or(api.node_name()),
        "group_config_status": if a.config_synced { "synced" } else { "not synced" },
    });
    let Value::Object(map) = &mut v else { return v };
    if !a.groups.is_empty() {
        map.insert("group".into(), json!(a.groups));
    }
    let optional = [
        ("version", a.version.clone().map(Value::from)),
        ("lastKeepAlive", a.last_keepalive.map(|t| iso(t).into())),
        ("disconnection_time", a.disconnected_at.map(|t| iso(t).into())),
        ("mergedSum", a.merged_sum.clone().map(Value::from)),
        ("configSum", a.config_sum.clone().map(Value::from)),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            map.insert(key.into(), value);
        }
    }
    let mut os = json!(a.os);
    if let Value::Object(os_map) = &mut os {
        os_map.retain(|_, v| !v.is_null());
        if !os_map.is_empty() {
            map.insert("os".into(), os);
        }
    }
    if !a.labels.is_empty() {
        map.insert("labels".into(), json!(a.labels));
    }
    v
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
