//! `/cluster/*`: the nodes alive in the cluster (their heartbeats), the holder of the leader
//! lease as Wazuh's master; without a cluster this node is the whole cluster, and its master.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, RawQuery, State};
use axum::http::Method;
use serde_json::{Value, json};

use super::pick::pick;
use crate::api::Api;
use crate::api::access::{Access, Principal, Routes};
use crate::api::envelope::{Affected, ItemError, result};
use crate::api::error::ApiResult;
use crate::api::query::Params;
use crate::api::query::list::{LIST_PARAMS, Listing};
use crate::api::rbac::Action::*;
use crate::api::rbac::{Kind, Target};
use crate::api::routes::info::WAZUH_API_VERSION;

/// Adds the routes.
pub fn add(routes: Routes) -> Routes {
    routes
        .add(Method::GET, "/cluster/status", Access::Actions(&[ClusterStatus]), status)
        .add(Method::GET, "/cluster/local/info", Access::Actions(&[ClusterRead]), local_info)
        .add(Method::GET, "/cluster/local/config", Access::Actions(&[ClusterRead]), local_config)
        .add(Method::GET, "/cluster/nodes", Access::Actions(&[ClusterRead]), nodes)
        .add(Method::GET, "/cluster/healthcheck", Access::Actions(&[ClusterRead]), healthcheck)
}

const NO_NODE: ItemError = ItemError { code: 1730, message: "Node does not exist", remediation: None };

/// Whether the caller may read the node `name` (`node:id`).
fn may_node(me: &Principal, name: &str) -> bool {
    me.permissions.allows(ClusterRead, &Target::Named(Kind::NodeId, name))
}

fn node(api: &Api) -> Value {
    json!({"name": api.node_name(), "type": "master", "version": WAZUH_API_VERSION, "ip": crate::cluster::local_address()})
}

/// This node's Wazuh role: the holder of the cluster's leader lease is the master.
fn own_type(api: &Api) -> &'static str {
    match &api.services.cluster {
        Some(cluster) if !cluster.view.members().iter().any(|m| m.leader && m.info.name == cluster.node_name) => {
            "worker"
        }
        _ => "master",
    }
}

/// Every node alive (this one alone without a cluster), in Wazuh's shape, with its active agents.
fn all_nodes(api: &Api) -> ApiResult<Vec<(String, Value, u64)>> {
    let Some(cluster) = &api.services.cluster else {
        let (counts, _) = api.store.status_counts()?;
        // Wazuh counts the manager itself among the active agents.
        return Ok(vec![(api.node_name().to_owned(), node(api), counts[2] as u64 + 1)]);
    };
    Ok(cluster
        .view
        .members()
        .into_iter()
        .map(|m| {
            let kind = if m.leader { "master" } else { "worker" };
            let value = json!({"name": m.info.name, "type": kind, "version": WAZUH_API_VERSION, "ip": m.info.address});
            (m.info.name, value, m.info.agents)
        })
        .collect())
}

async fn status(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Json<Value>> {
    Params::accept(q.as_deref(), &[])?;
    let enabled = if api.config.cluster.disabled { "no" } else { "yes" };
    // Running: connected to NATS (one node serving alone has no cluster service to run).
    let running = if api.services.cluster.as_ref().is_some_and(|c| c.connected()) { "yes" } else { "no" };
    Ok(result(json!({"enabled": enabled, "running": running}), None))
}

async fn local_info(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let mut out = Affected::new("Retrieved node information", "", "");
    out.push(json!({"node": api.node_name(), "cluster": api.config.cluster.name, "type": own_type(&api)}));
    Ok(out)
}

async fn local_config(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let mut out = Affected::new("Current node cluster configuration was returned", "", "");
    out.push(json!(api.config.cluster));
    Ok(out)
}

async fn nodes(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &[LIST_PARAMS, &["type", "nodes_list"]].concat())?;
    let listing = Listing::from_params(&params)?;
    let mut out = Affected::new(
        "All selected nodes information was returned",
        "Some nodes information was not returned",
        "No node information was returned",
    );
    let all = all_nodes(&api)?.into_iter().map(|(name, value, _)| (name, value));
    let allowed = |n: &Value| may_node(&me, n["name"].as_str().unwrap_or_default());
    let mut items = pick(params.list("nodes_list").as_deref(), all, allowed, NO_NODE, &mut out);
    if let Some(kind) = params.get("type") {
        items.retain(|n| n["type"] == kind);
    }
    let (page, total) = listing.apply(items, &["name"])?;
    Ok(out.page(page, total))
}

async fn healthcheck(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &["nodes_list"])?;
    let mut out =
        Affected::new("Cluster health check successfully read", "", "No health check information was returned");
    let all = all_nodes(&api)?.into_iter().map(|(name, mut info, agents)| {
        info["n_active_agents"] = agents.into();
        (name, json!({"info": info, "status": {}}))
    });
    let allowed = |n: &Value| may_node(&me, n["info"]["name"].as_str().unwrap_or_default());
    let items = pick(params.list("nodes_list").as_deref(), all, allowed, NO_NODE, &mut out);
    out.extend(items);
    Ok(out)
}
