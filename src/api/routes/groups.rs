//! `/groups`: the agent groups (folders under `etc/shared/`), their agents, their `agent.conf`
//! and their files.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::agents::{agent_json, may};
use super::pick::pick;
use crate::api::Api;
use crate::api::access::{Access, Principal, Routes};
use crate::api::envelope::{Affected, ItemError};
use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;
use crate::api::query::list::{LIST_PARAMS, Listing};
use crate::api::rbac::Action::*;
use crate::api::rbac::{Action, Kind, Target};
use crate::api::reload::{not_admitted, unshared};
use crate::api::routes::extract::JsonBody;
use crate::api::routes::extract::XmlText;
use crate::store::{GroupName, Status};

/// Adds the routes.
pub fn add(routes: Routes) -> Routes {
    routes
        .add(Method::GET, "/groups", Access::Actions(&[GroupRead]), list)
        .add(Method::POST, "/groups", Access::Actions(&[GroupCreate]), create)
        .add(Method::DELETE, "/groups", Access::Actions(&[GroupDelete]), delete)
        .add(Method::GET, "/groups/{group_id}/agents", Access::Actions(&[AgentRead, GroupRead]), agents)
        .add(Method::GET, "/groups/{group_id}/configuration", Access::Actions(&[GroupRead]), configuration)
        .add(Method::PUT, "/groups/{group_id}/configuration", Access::Actions(&[GroupUpdateConfig]), set_configuration)
        .add(Method::GET, "/groups/{group_id}/files", Access::Actions(&[GroupRead]), files)
        .add(Method::GET, "/groups/{group_id}/files/{file_name}", Access::Actions(&[GroupRead]), file)
}

/// The `agent.conf` a new group starts with (Wazuh's).
const NEW_AGENT_CONF: &str = "<agent_config>\n\n  <!-- Shared agent configuration here -->\n\n</agent_config>\n";

/// Files Wazuh does not list in a group folder.
fn listed_file(name: &str) -> bool {
    !name.starts_with('.') && !name.starts_with("merged.mg")
}

fn may_group(me: &Principal, action: Action, group: &str) -> bool {
    me.permissions.allows(action, &Target::Named(Kind::GroupId, group))
}

fn shared_dir(api: &Api) -> std::path::PathBuf {
    api.home.join("etc/shared")
}

/// A group name from a path, existing and readable by the caller.
fn existing(api: &Api, me: &Principal, action: Action, raw: &str) -> ApiResult<GroupName> {
    let name: GroupName = raw.parse().map_err(|e| ApiError::bad_request(format!("{e}")))?;
    if !api.store.groups()?.iter().any(|g| g.name == name) {
        return Err(
            ApiError::wazuh(1710, format!("The group does not exist: {name}")).with_status(StatusCode::NOT_FOUND)
        );
    }
    if !may_group(me, action, name.as_str()) {
        return Err(ApiError::permission_denied(format!("Permission denied: Resource type: group:id:{name}")));
    }
    Ok(name)
}

/// A checksum of `bytes` with the algorithm Wazuh's `hash` parameter names.
fn checksum(algorithm: &str, bytes: &[u8]) -> ApiResult<String> {
    use md5::Digest as _;
    let digest = |alg: &'static ring::digest::Algorithm| crate::hex::encode(ring::digest::digest(alg, bytes).as_ref());
    Ok(match algorithm {
        "md5" => crate::hex::encode(&md5::Md5::digest(bytes)),
        "sha1" => digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY),
        "sha256" => digest(&ring::digest::SHA256),
        "sha384" => digest(&ring::digest::SHA384),
        "sha512" => digest(&ring::digest::SHA512),
        other => {
            return Err(ApiError::bad_request(format!(
                "'{other}' is not a supported hash algorithm (md5, sha1, sha256, sha384, sha512)"
            )));
        }
    })
}

/// `GET /groups`.
async fn list(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &[LIST_PARAMS, &["groups_list", "hash"]].concat())?;
    let listing = Listing::from_params(&params)?;
    let algorithm = params.get("hash").unwrap_or("md5");
    let agents = api.store.agents()?;
    let mut out = Affected::new(
        "All selected groups information was returned",
        "Some groups information was not returned",
        "No group information was returned",
    );
    let mut rows = Vec::new();
    for group in api.store.groups()? {
        let name = group.name.as_str();
        let dir = shared_dir(&api).join(name);
        let merged = std::fs::read(dir.join(crate::remote::shared::MERGED))
            .or_else(|_| crate::remote::shared::build(&shared_dir(&api), name).map(|m| m.bytes))
            .unwrap_or_default();
        let config = std::fs::read(dir.join("agent.conf")).unwrap_or_default();
        let row = json!({
            "name": name,
            "count": agents.iter().filter(|a| a.groups.contains(&group.name)).count(),
            "mergedSum": checksum(algorithm, &merged)?,
            "configSum": checksum(algorithm, &config)?,
        });
        rows.push((name.to_owned(), row));
    }
    let named = params.list("groups_list");
    let items = pick(
        named.as_deref(),
        rows,
        |r| may_group(&me, GroupRead, r["name"].as_str().unwrap_or("")),
        ItemError::NO_GROUP,
        &mut out,
    );
    let (page, total) = listing.apply(items, &["name"])?;
    Ok(out.page(page, total))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    group_id: String,
}

/// `POST /groups`: the folder with Wazuh's starting `agent.conf`, and the store's group.
async fn create(State(api): State<Arc<Api>>, JsonBody(new): JsonBody<NewGroup>) -> ApiResult<Json<Value>> {
    let name: GroupName = new.group_id.parse().map_err(|e| ApiError::bad_request(format!("{e}")))?;
    if name.as_str().len() > 128 || name.as_str().contains(',') {
        return Err(ApiError::bad_request(format!("'{name}' is not a valid group name")));
    }
    if api.store.groups()?.iter().any(|g| g.name == name) {
        return Err(ApiError::wazuh(1711, format!("The group already exists: {name}")));
    }
    let dir = shared_dir(&api).join(name.as_str());
    std::fs::create_dir_all(&dir)
        .map_err(|e| ApiError::wazuh(1005, format!("cannot create {}: {e}", dir.display())))?;
    crate::home::Home::write_atomic(&dir.join("agent.conf"), NEW_AGENT_CONF.as_bytes(), 0o660)
        .map_err(|e| ApiError::wazuh(1005, format!("cannot write agent.conf: {e}")))?;
    api.store.add_group(&name, crate::server::now())?;
    share_agent_conf(&api, &name, NEW_AGENT_CONF.as_bytes()).await?;
    Ok(Json(json!({"message": format!("Group '{name}' created."), "error": 0})))
}

/// `DELETE /groups?groups_list=`: agents left in no group go back to `default`.
async fn delete(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &["groups_list"])?;
    let named =
        params.list("groups_list").ok_or_else(|| ApiError::bad_request("Missing query parameter 'groups_list'"))?;
    let mut out =
        Affected::new("All selected groups were deleted", "Some groups were not deleted", "No group was deleted");
    let groups = api.store.groups()?.into_iter().map(|g| (g.name.to_string(), g.name));
    let chosen = pick(Some(&named), groups, |g| may_group(&me, GroupDelete, g.as_str()), ItemError::NO_GROUP, &mut out);
    let default = GroupName::default_group();
    let mut affected_agents = std::collections::BTreeSet::new();
    for group in chosen {
        if group == default {
            out.fail(
                ItemError { code: 1712, message: "Default group is not deletable", remediation: None },
                group.as_str(),
            );
            continue;
        }
        let members = api.store.agents_in_group(&group)?;
        if let Some(cluster) = &api.services.cluster {
            // Every node first: the members' groups, then the group's agent.conf, which stands
            // for the group on the other nodes.
            for agent in &members {
                let leave = |a: &mut crate::store::Agent| {
                    a.groups.retain(|g| *g != group);
                    if a.groups.is_empty() {
                        a.groups.push(default.clone());
                    }
                };
                cluster.change_agent(&api.store, agent.id, leave).await.map_err(not_admitted)?;
            }
            let conf = format!("etc/shared/{group}/agent.conf");
            cluster.share_file(&conf, None).await.map_err(unshared)?;
        }
        api.store.write(|w| {
            w.remove_group(&group)?;
            for agent in &members {
                w.update(agent.id, |a| {
                    if a.groups.is_empty() {
                        a.groups.push(default.clone());
                    }
                })?;
            }
            Ok(())
        })?;
        affected_agents.extend(members.iter().map(|a| a.id.to_string()));
        let dir = shared_dir(&api).join(group.as_str());
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tracing::warn!(stage = "api", group = %group, "cannot remove {}: {e}", dir.display());
        }
        out.push(Value::from(group.as_str()));
    }
    Ok(out.with("affected_agents", json!(affected_agents)))
}

/// `GET /groups/{group_id}/agents`.
async fn agents(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path(group_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &[LIST_PARAMS, &["status"]].concat())?;
    let listing = Listing::from_params(&params)?;
    let group = existing(&api, &me, GroupRead, &group_id)?;
    let statuses: Option<Vec<Status>> = params
        .list("status")
        .map(|s| s.iter().map(|x| x.parse().map_err(|e: String| ApiError::bad_request(e))).collect::<ApiResult<_>>())
        .transpose()?;
    let items = api
        .store
        .agents_in_group(&group)?
        .iter()
        .filter(|a| may(&me, AgentRead, a) && statuses.as_ref().is_none_or(|s| s.contains(&a.status)))
        .map(|a| agent_json(&api, a))
        .collect();
    let (page, total) = listing.apply(items, &["id"])?;
    Ok(Affected::new("All selected agents information was returned", "", "No agent information was returned")
        .page(page, total))
}

/// `GET /groups/{group_id}/configuration`: `agent.conf` as JSON (`filters` from the attributes,
/// `config` from the contents of each `<agent_config>`).
async fn configuration(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path(group_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &["offset", "limit"])?;
    let listing = Listing::from_params(&params)?;
    let group = existing(&api, &me, GroupRead, &group_id)?;
    let path = shared_dir(&api).join(group.as_str()).join("agent.conf");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let doc =
        crate::xml::Document::parse(&text).map_err(|e| ApiError::wazuh(1113, format!("XML syntax error: {e}")))?;
    let items = doc
        .roots()
        .filter(|e| e.name == "agent_config")
        .map(|block| {
            let filters: serde_json::Map<String, Value> =
                block.attributes.iter().map(|a| (a.name.clone(), Value::from(a.value.as_str()))).collect();
            let config = crate::api::xml_json::element(block);
            let config = match config {
                Value::Object(mut m) => {
                    m.retain(|k, _| !k.starts_with('@') && k != "#text");
                    Value::Object(m)
                }
                _ => json!({}),
            };
            json!({"filters": filters, "config": config})
        })
        .collect();
    let (page, total) = listing.apply(items, &[])?;
    Ok(Affected::new("Configuration was successfully read", "", "").page(page, total))
}

/// `PUT /groups/{group_id}/configuration`: a new `agent.conf` (XML body), checked before it is
/// written.
async fn set_configuration(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path(group_id): Path<String>,
    RawQuery(q): RawQuery,
    XmlText(text): XmlText,
) -> ApiResult<Json<Value>> {
    Params::accept(q.as_deref(), &[])?;
    let group = existing(&api, &me, GroupUpdateConfig, &group_id)?;
    let doc =
        crate::xml::Document::parse(&text).map_err(|e| ApiError::wazuh(1113, format!("XML syntax error: {e}")))?;
    if doc.roots().next().is_none() || doc.roots().any(|r| r.name != "agent_config") {
        return Err(ApiError::wazuh(1114, "Wazuh syntax error: agent.conf holds <agent_config> blocks only"));
    }
    let path = shared_dir(&api).join(group.as_str()).join("agent.conf");
    crate::home::Home::write_atomic(&path, text.as_bytes(), 0o660)
        .map_err(|e| ApiError::wazuh(1005, format!("cannot write agent.conf: {e}")))?;
    share_agent_conf(&api, &group, text.as_bytes()).await?;
    Ok(Json(json!({"data": {}, "message": "Agent configuration was successfully updated", "error": 0})))
}

/// In a cluster, stores a group's agent.conf for every node (which makes the group there too).
async fn share_agent_conf(api: &Api, group: &GroupName, text: &[u8]) -> ApiResult<()> {
    let Some(cluster) = &api.services.cluster else { return Ok(()) };
    let relative = format!("etc/shared/{group}/agent.conf");
    cluster.share_file(&relative, Some(text)).await.map_err(unshared)
}

/// The files of a group folder, sorted.
fn group_files(api: &Api, group: &GroupName) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(shared_dir(api).join(group.as_str()))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| listed_file(n))
        .collect();
    names.sort();
    names
}

/// `GET /groups/{group_id}/files`.
async fn files(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path(group_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &[LIST_PARAMS, &["hash"]].concat())?;
    let listing = Listing::from_params(&params)?;
    let algorithm = params.get("hash").unwrap_or("md5");
    let group = existing(&api, &me, GroupRead, &group_id)?;
    let dir = shared_dir(&api).join(group.as_str());
    let items = group_files(&api, &group)
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(dir.join(&name)).unwrap_or_default();
            Ok(json!({"filename": name, "hash": checksum(algorithm, &bytes)?}))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let (page, total) = listing.apply(items, &["filename"])?;
    Ok(Affected::new("All selected files were returned", "", "No file was returned").page(page, total))
}

/// `GET /groups/{group_id}/files/{file_name}`: raw text, or `agent.conf` as JSON.
async fn file(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path((group_id, file_name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let params = Params::accept(q.as_deref(), &["raw", "type"])?;
    let group = existing(&api, &me, GroupRead, &group_id)?;
    // Only a file the folder lists: no path can lead outside it.
    if !group_files(&api, &group).contains(&file_name) {
        return Err(
            ApiError::wazuh(1006, format!("File does not exist: {file_name}")).with_status(StatusCode::NOT_FOUND)
        );
    }
    let text = std::fs::read(shared_dir(&api).join(group.as_str()).join(&file_name))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| ApiError::wazuh(1005, format!("Error reading file: {e}")))?;
    if params.flag("raw", false)? || !file_name.ends_with(".conf") {
        return Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response());
    }
    let doc =
        crate::xml::Document::parse(&text).map_err(|e| ApiError::wazuh(1113, format!("XML syntax error: {e}")))?;
    Ok(Json(json!({"data": crate::api::xml_json::document(&doc), "error": 0})).into_response())
}
