//! `/mitre/techniques` and `/mitre/tactics` from the ATT&CK table the engine enriches alerts with.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::Method;
use serde_json::{Value, json};

use super::pick::pick;
use crate::api::Api;
use crate::api::access::{Access, Routes};
use crate::api::envelope::{Affected, ItemError};
use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;
use crate::api::query::list::{LIST_PARAMS, Listing, SortKey};
use crate::api::rbac::Action::MitreRead;

/// Adds the routes.
pub fn add(routes: Routes) -> Routes {
    routes.add(Method::GET, "/mitre/techniques", Access::Actions(&[MitreRead]), techniques).add(
        Method::GET,
        "/mitre/tactics",
        Access::Actions(&[MitreRead]),
        tactics,
    )
}

const NO_ITEM: ItemError = ItemError { code: 1400, message: "The MITRE item does not exist", remediation: None };

fn table(api: &Api) -> ApiResult<Arc<crate::engine::Engine>> {
    api.services.engine.as_ref().map(|e| e.engine()).ok_or_else(|| ApiError::wazuh(1914, "The engine is not running"))
}

fn answer(items: Vec<(String, Value)>, params: &Params, ids: &str) -> ApiResult<Affected> {
    params.only(&[LIST_PARAMS, &[ids]].concat())?;
    let listing = Listing::from_params(params)?;
    let mut out = Affected::new(
        "All selected MITRE items were returned",
        "Some MITRE items were not returned",
        "No MITRE item was returned",
    );
    let chosen = pick(params.list(ids).as_deref(), items, |_| true, NO_ITEM, &mut out);
    let listing = if listing.sort.is_empty() {
        Listing { sort: vec![SortKey { field: "external_id".into(), ascending: true }], ..listing }
    } else {
        listing
    };
    let (page, total) = listing.apply(chosen, &["id"])?;
    Ok(out.page(page, total))
}

async fn techniques(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Affected> {
    let params = Params::parse(q.as_deref());
    let engine = table(&api)?;
    let items = engine
        .ruleset()
        .mitre
        .techniques()
        .map(|t| {
            let tactics: Vec<&str> = t.tactics.iter().map(|x| x.id.as_str()).collect();
            (
                t.id.clone(),
                json!({"id": t.id, "external_id": t.id, "name": t.name, "tactics": tactics, "source": "mitre-attack"}),
            )
        })
        .collect();
    answer(items, &params, "technique_ids")
}

async fn tactics(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Affected> {
    let params = Params::parse(q.as_deref());
    let engine = table(&api)?;
    let mut by_tactic: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for technique in engine.ruleset().mitre.techniques() {
        for tactic in &technique.tactics {
            by_tactic
                .entry(tactic.id.clone())
                .or_insert_with(|| (tactic.name.clone(), Vec::new()))
                .1
                .push(technique.id.clone());
        }
    }
    let items = by_tactic
        .into_iter()
        .map(|(id, (name, mut techniques))| {
            techniques.sort();
            (
                id.clone(),
                json!({"id": id, "external_id": id, "name": name, "techniques": techniques, "source": "mitre-attack"}),
            )
        })
        .collect();
    answer(items, &params, "tactic_ids")
}
