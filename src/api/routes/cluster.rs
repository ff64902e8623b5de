//! `/cluster/*` for a single node until the cluster lands: this node is the whole cluster, and
//! its master.

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

/// This node's address as agents reach it (the first non-loopback address, else loopback).
fn address() -> String {
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("192.0.2.1:9").map(|()| s))
        .and_then(|s| s.local_addr())
        .map_or_else(|_| "127.0.0.1".to_owned(), |a| a.ip().to_string())
}

/// Whether the caller may read this node (`node:id`).
fn may_node(api: &Api, me: &Principal) -> bool {
    me.permissions.allows(ClusterRead, &Target::Named(Kind::NodeId, api.node_name()))
}

fn node(api: &Api) -> Value {
    json!({"name": api.node_name(), "type": "master", "version": WAZUH_API_VERSION, "ip": address()})
}

async fn status(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Json<Value>> {
    Params::accept(q.as_deref(), &[])?;
    let enabled = if api.config.cluster.disabled { "no" } else { "yes" };
    // One node serves alone: there is no cluster daemon to run.
    Ok(result(json!({"enabled": enabled, "running": "no"}), None))
}

async fn local_info(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let mut out = Affected::new("Retrieved node information", "", "");
    out.push(json!({"node": api.node_name(), "cluster": api.config.cluster.name, "type": "master"}));
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
    let all = [(api.node_name().to_owned(), node(&api))];
    let mut items = pick(params.list("nodes_list").as_deref(), all, |_| may_node(&api, &me), NO_NODE, &mut out);
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
    let (counts, _) = api.store.status_counts()?;
    let mut info = node(&api);
    info["n_active_agents"] = (counts[2] + 1).into();
    let all = [(api.node_name().to_owned(), json!({"info": info, "status": {}}))];
    let items = pick(params.list("nodes_list").as_deref(), all, |_| may_node(&api, &me), NO_NODE, &mut out);
    out.extend(items);
    Ok(out)
}
