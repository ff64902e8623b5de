//! Group assignments: `PUT/DELETE /agents/{agent_id}/group/{group_id}`,
//! `DELETE /agents/{agent_id}/group`, `PUT/DELETE /agents/group`.

use std::sync::Arc;

use axum::extract::{Extension, Path, RawQuery, State};
use serde_json::Value;

use crate::api::Api;
use crate::api::access::Principal;
use crate::api::envelope::{Affected, ItemError};
use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;
use crate::api::rbac::{Action, Kind, Target};
use crate::api::reload::not_admitted;
use crate::store::{Agent, AgentId, GroupName};

/// Most groups one agent can be in (Wazuh's `MAX_GROUPS_PER_MULTIGROUP`).
const MAX_GROUPS: usize = 128;

const ALREADY_IN: ItemError = ItemError {
    code: 1751,
    message: "Could not assign agent to group",
    remediation: Some("Agent already belongs to specified group, please select another agent"),
};
const ONLY_DEFAULT: ItemError = ItemError {
    code: 1745,
    message: "Agent only belongs to 'default' and it cannot be unassigned from this group.",
    remediation: None,
};
const TOO_MANY: ItemError =
    ItemError { code: 1737, message: "Maximum number of groups per multigroup is 128", remediation: None };
const NOT_IN: ItemError =
    ItemError { code: 1734, message: "Agent does not belong to the specified group", remediation: None };

/// A group that must exist and that the caller may assign agents to.
fn group(api: &Api, me: &Principal, raw: &str) -> ApiResult<GroupName> {
    let name: GroupName = raw.parse().map_err(|e| ApiError::bad_request(format!("{e}")))?;
    if !api.store.groups()?.iter().any(|g| g.name == name) {
        return Err(ApiError::wazuh(1710, format!("The group does not exist: {name}")));
    }
    if !me.permissions.allows(Action::GroupModifyAssignments, &Target::Named(Kind::GroupId, name.as_str())) {
        return Err(ApiError::permission_denied(format!("Permission denied: Resource type: group:id:{name}")));
    }
    Ok(name)
}

/// The agents named (`None`: all) that the caller may regroup.
fn agents(api: &Api, me: &Principal, named: Option<&[String]>, out: &mut Affected) -> ApiResult<Vec<Agent>> {
    super::chosen(api, me, Action::AgentModifyGroup, named, |_| true, out)
}

/// Changes an agent's groups: in a cluster for every node first (refused when NATS cannot be
/// reached), then here.
async fn regroup(api: &Api, id: AgentId, change: impl FnOnce(&mut Agent)) -> ApiResult<()> {
    match &api.services.cluster {
        None => drop(api.store.write(|w| w.update(id, change))?),
        Some(cluster) => drop(cluster.change_agent(&api.store, id, change).await.map_err(not_admitted)?),
    }
    Ok(())
}

/// Puts the agents in `group` (alone in it with `single`).
async fn assign(
    api: &Api,
    me: &Principal,
    named: Option<&[String]>,
    group: &GroupName,
    single: bool,
) -> ApiResult<Affected> {
    let mut out = Affected::new(
        format!("All selected agents were assigned to {group}"),
        format!("Some agents were not assigned to {group}"),
        format!("No agents were assigned to {group}"),
    );
    for agent in agents(api, me, named, &mut out)? {
        let id = agent.id.to_string();
        if agent.groups.contains(group) && !single {
            out.fail(ALREADY_IN, id);
        } else if agent.groups.len() >= MAX_GROUPS && !single {
            out.fail(TOO_MANY, id);
        } else {
            regroup(api, agent.id, |a| {
                if single {
                    a.groups.clear();
                }
                a.groups.push(group.clone());
            })
            .await?;
            out.push(Value::from(id));
        }
    }
    Ok(out)
}

/// Takes the agents out of `groups` (`None`: all of theirs); an agent left in none goes back to
/// `default`, as in Wazuh.
async fn unassign(
    api: &Api,
    me: &Principal,
    named: Option<&[String]>,
    groups: Option<&[GroupName]>,
    label: &str,
) -> ApiResult<Affected> {
    let mut out = Affected::new(
        format!("All selected agents were removed from {label}"),
        format!("Some agents were not removed from {label}"),
        format!("No agents were removed from {label}"),
    );
    let default = GroupName::default_group();
    for agent in agents(api, me, named, &mut out)? {
        let id = agent.id.to_string();
        let leaving: Vec<GroupName> = match groups {
            Some(g) => g.iter().filter(|g| agent.groups.contains(g)).cloned().collect(),
            None => agent.groups.clone(),
        };
        if leaving.is_empty() {
            out.fail(NOT_IN, id);
            continue;
        }
        if agent.groups == [default.clone()] && leaving == [default.clone()] {
            out.fail(ONLY_DEFAULT, id);
            continue;
        }
        regroup(api, agent.id, |a| {
            a.groups.retain(|g| !leaving.contains(g));
            if a.groups.is_empty() {
                a.groups.push(default.clone());
            }
        })
        .await?;
        out.push(Value::from(id));
    }
    Ok(out)
}

/// `PUT /agents/{agent_id}/group/{group_id}[?force_single_group=]`.
pub async fn add_one(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path((agent_id, group_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &["force_single_group"])?;
    let group = group(&api, &me, &group_id)?;
    assign(&api, &me, Some(&[agent_id]), &group, params.flag("force_single_group", false)?).await
}

/// `DELETE /agents/{agent_id}/group/{group_id}`.
pub async fn remove_one(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path((agent_id, group_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let group = group(&api, &me, &group_id)?;
    unassign(&api, &me, Some(&[agent_id]), Some(std::slice::from_ref(&group)), group.as_str()).await
}

/// `DELETE /agents/{agent_id}/group[?groups_list=]`.
pub async fn remove_from_groups(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path(agent_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &["groups_list"])?;
    let (groups, label) = match params.list("groups_list") {
        Some(list) => {
            let groups = list.iter().map(|g| group(&api, &me, g)).collect::<ApiResult<Vec<_>>>()?;
            let label = groups.iter().map(GroupName::as_str).collect::<Vec<_>>().join(",");
            (groups, label)
        }
        // Every group the caller may take agents out of.
        None => {
            let groups = api.store.groups()?.into_iter().map(|g| g.name).filter(|g| {
                me.permissions.allows(Action::GroupModifyAssignments, &Target::Named(Kind::GroupId, g.as_str()))
            });
            (groups.collect(), "all groups".to_owned())
        }
    };
    unassign(&api, &me, Some(&[agent_id]), Some(&groups), &label).await
}

/// `PUT /agents/group?group_id=[&agents_list=][&force_single_group=]`.
pub async fn add_many(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &["agents_list", "group_id", "force_single_group"])?;
    let raw = params.get("group_id").ok_or_else(|| ApiError::bad_request("Missing query parameter 'group_id'"))?;
    let group = group(&api, &me, raw)?;
    assign(&api, &me, params.list("agents_list").as_deref(), &group, params.flag("force_single_group", false)?).await
}

/// `DELETE /agents/group?agents_list=&group_id=`.
pub async fn remove_many(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &["agents_list", "group_id"])?;
    let named =
        params.list("agents_list").ok_or_else(|| ApiError::bad_request("Missing query parameter 'agents_list'"))?;
    let raw = params.get("group_id").ok_or_else(|| ApiError::bad_request("Missing query parameter 'group_id'"))?;
    let group = group(&api, &me, raw)?;
    unassign(&api, &me, Some(&named), Some(std::slice::from_ref(&group)), group.as_str()).await
}
