//! Registering and removing agents through the API (`POST /agents`, `/agents/insert[/quick]`,
//! `DELETE /agents`) and reading an agent's key.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::agent_json;
use super::list::{FIELD_FILTERS, filters};
use crate::api::Api;
use crate::api::access::Principal;
use crate::api::envelope::{Affected, ItemError, result};
use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;
use crate::api::rbac::Action;
use crate::api::routes::extract::JsonBody;
use crate::cluster::admit::AdmitError;
use crate::cluster::registry::RegistryError;
use crate::enroll::policy::Enrolled;
use crate::store::{Agent, AgentId, AgentIp, AgentKey, AgentName, GroupName, NewAgent, StoreError, Writer};

/// The body of `POST /agents` and `/agents/insert`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    name: String,
    ip: Option<String>,
    id: Option<String>,
    key: Option<String>,
    /// Wazuh's replacement options: refused, vigil asks for the old agent to be removed first.
    force: Option<Value>,
}

/// Store errors as Wazuh's registration errors.
fn registration_error(e: StoreError) -> ApiError {
    match e {
        StoreError::DuplicateName(name) => {
            ApiError::wazuh(1705, format!("There is an agent with the same name: {name}"))
        }
        StoreError::DuplicateIp(ip) => {
            ApiError::wazuh(1706, format!("There is an agent with the same IP or the IP is invalid: {ip}"))
        }
        StoreError::DuplicateId(id) => ApiError::wazuh(1708, format!("There is an agent with the same ID: {id}")),
        StoreError::NoSuchGroup(g) => ApiError::wazuh(1710, format!("The group does not exist: {g}")),
        other => ApiError::internal(other),
    }
}

fn fields(r: &Registration) -> ApiResult<(AgentName, AgentIp)> {
    if r.force.is_some() {
        return Err(ApiError::bad_request(
            "'force' is not supported: remove the existing agent first (DELETE /agents)",
        ));
    }
    let name: AgentName = r.name.parse().map_err(|e| ApiError::bad_request(format!("{e}")))?;
    let ip: AgentIp = r.ip.as_deref().unwrap_or("any").parse().map_err(|e| ApiError::bad_request(format!("{e}")))?;
    Ok((name, ip))
}

/// Registers an agent in the `default` group and has client.keys rewritten.
async fn register(api: &Api, name: AgentName, ip: AgentIp) -> ApiResult<Agent> {
    let now = crate::server::now();
    let default = GroupName::default_group();
    let add = |w: &mut Writer<'_>| {
        w.add_group(&default, now)?;
        w.add_agent(NewAgent { name: name.clone(), ip: ip.clone(), groups: vec![default.clone()], registered_at: now })
    };
    let agent = store_new(api, add).await?;
    tracing::info!(stage = "api", agent = %agent.id, name = %agent.name, "Agent registered through the API");
    Ok(agent)
}

/// Runs `add` in a store transaction (through the cluster's registry first when there is one)
/// and has client.keys rewritten.
async fn store_new(api: &Api, add: impl Fn(&mut Writer<'_>) -> Result<Agent, StoreError>) -> ApiResult<Agent> {
    let agent = match &api.services.cluster {
        None => api.store.write(add).map_err(registration_error)?,
        Some(cluster) => {
            let plan = |w: &mut Writer<'_>| {
                Ok(vec![add(w).map(|agent| Enrolled { agent, replaced: Vec::new() }).map_err(registration_error)])
            };
            let decided = cluster.admit(&api.store, 1, plan, |e, _| registry_error(e), false).await;
            let decided = decided.map_err(|e| match e {
                AdmitError::Registry(e) => registry_error(e),
                AdmitError::Store(e) => ApiError::internal(e),
            })?;
            decided.into_iter().next().ok_or_else(|| ApiError::internal("no decision"))??.agent
        }
    };
    keys_changed(api);
    Ok(agent)
}

/// The registry's refusals as Wazuh's registration errors.
fn registry_error(e: RegistryError) -> ApiError {
    match e {
        RegistryError::NameTaken(name) => registration_error(StoreError::DuplicateName(name)),
        RegistryError::IpTaken(ip) => registration_error(StoreError::DuplicateIp(ip)),
        RegistryError::IdTaken(id) => registration_error(StoreError::DuplicateId(id)),
        RegistryError::Unavailable(_) => crate::api::reload::unshared(e),
        other => ApiError::internal(other),
    }
}

fn keys_changed(api: &Api) {
    if let Some(keys) = &api.services.keys_file {
        keys.notify();
    }
}

fn registered(agent: &Agent) -> Json<Value> {
    result(json!({"id": agent.id.to_string(), "key": key_line(agent)}), None)
}

/// An agent's key as Wazuh hands it out: base64 of its client.keys line.
fn key_line(a: &Agent) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{} {} {} {}", a.id, a.name, a.ip, a.key.expose()))
}

/// `POST /agents`.
pub async fn add(State(api): State<Arc<Api>>, JsonBody(r): JsonBody<Registration>) -> ApiResult<Json<Value>> {
    if r.id.is_some() || r.key.is_some() {
        return Err(ApiError::bad_request("'id' and 'key' are only accepted by POST /agents/insert"));
    }
    let (name, ip) = fields(&r)?;
    Ok(registered(&register(&api, name, ip).await?))
}

/// `POST /agents/insert`: with the id and key given.
pub async fn insert(State(api): State<Arc<Api>>, JsonBody(r): JsonBody<Registration>) -> ApiResult<Json<Value>> {
    let (name, ip) = fields(&r)?;
    let (Some(id), Some(key)) = (&r.id, &r.key) else { return Ok(registered(&register(&api, name, ip).await?)) };
    let id: AgentId = id.parse().map_err(|e| ApiError::bad_request(format!("{e}")))?;
    if key.len() < 64 {
        return Err(ApiError::wazuh(
            1709,
            "Too short key size. The necessary size for the key is 64 characters at least",
        ));
    }
    let key: AgentKey = key.parse().map_err(|e| ApiError::bad_request(format!("{e}")))?;
    let now = crate::server::now();
    let default = GroupName::default_group();
    let mut agent = Agent::new(id, name, ip, key, now);
    agent.groups = vec![default.clone()];
    let add = |w: &mut Writer<'_>| {
        w.add_group(&default, now)?;
        if w.agent_by_name(agent.name.as_str())?.is_some() {
            return Err(StoreError::DuplicateName(agent.name.clone()));
        }
        w.insert(&agent).map(|()| agent.clone())
    };
    Ok(registered(&store_new(&api, add).await?))
}

/// `POST /agents/insert/quick?agent_name=`.
pub async fn insert_quick(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Json<Value>> {
    let params = Params::accept(q.as_deref(), &["agent_name"])?;
    let name = params.get("agent_name").ok_or_else(|| ApiError::bad_request("Missing query parameter 'agent_name'"))?;
    let name: AgentName = name.parse().map_err(|e| ApiError::bad_request(format!("{e}")))?;
    Ok(registered(&register(&api, name, AgentIp::any()).await?))
}

/// `DELETE /agents?agents_list=…&status=…[&older_than=7d][&purge]`: removes the named agents
/// (or `all`) that match the filters and were last seen before `older_than`.
pub async fn delete(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &[FIELD_FILTERS, &["agents_list", "purge", "older_than", "q"]].concat())?;
    let named =
        params.list("agents_list").ok_or_else(|| ApiError::bad_request("Missing query parameter 'agents_list'"))?;
    let statuses = params.list("status").ok_or_else(|| ApiError::bad_request("Missing query parameter 'status'"))?;
    let purge = params.flag("purge", false)?;
    let older_than = params.get("older_than").unwrap_or("7d").to_owned();
    // `status=all` means no status filter; the other filters are GET /agents's.
    let statuses = (!statuses.iter().any(|s| s == "all")).then_some(statuses);
    let filter = filters(&params, statuses.as_deref(), Some(&older_than), crate::server::now())?;
    let q = crate::api::query::list::q_expr(&params)?;

    let mut out =
        Affected::new("All selected agents were deleted", "Some agents were not deleted", "No agents were deleted")
            .with("older_than", older_than.into());
    let chosen = super::chosen(&api, &me, Action::AgentDelete, Some(&named), |_| true, &mut out)?;
    let mut removed = Vec::new();
    for agent in chosen {
        let view = agent_json(&api, &agent);
        if filter.as_ref().is_some_and(|f| !f.matches(&view)) || q.as_ref().is_some_and(|f| !f.matches(&view)) {
            continue;
        }
        let outcome = match &api.services.cluster {
            None => api.store.remove_agent(agent.id, purge).map(drop),
            Some(cluster) => match cluster.remove(&api.store, &agent, purge).await {
                Ok(()) => Ok(()),
                Err(AdmitError::Store(e)) => Err(e),
                Err(AdmitError::Registry(e)) => return Err(registry_error(e)),
            },
        };
        match outcome {
            Ok(()) => removed.push(agent.id.to_string()),
            Err(StoreError::NoSuchAgent(_)) => out.fail(ItemError::NO_AGENT, agent.id.to_string()),
            Err(e) => return Err(ApiError::internal(e)),
        }
    }
    if !removed.is_empty() {
        keys_changed(&api);
        tracing::info!(stage = "api", count = removed.len(), "Agents removed through the API");
    }
    out.extend(removed.into_iter().map(Value::from));
    Ok(out)
}

/// `GET /agents/{agent_id}/key`.
pub async fn key(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path(agent_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let messages =
        ["Obtained keys for all selected agents", "Some agent keys were not obtained", "No agent keys were obtained"];
    super::one_agent(&api, &me, &agent_id, messages, |a| json!({"id": a.id.to_string(), "key": key_line(a)}))
}
