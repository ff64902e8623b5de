//! `GET /lists`: the CDB lists the config names, with their entries.

use std::sync::Arc;

use axum::extract::{Extension, RawQuery, State};
use serde_json::{Value, json};

use super::{FileKind, split};
use crate::api::Api;
use crate::api::access::Principal;
use crate::api::envelope::Affected;
use crate::api::error::ApiResult;
use crate::api::query::Params;
use crate::api::query::list::{LIST_PARAMS, Listing};
use crate::api::rbac::{Action, Target};

/// `GET /lists`.
pub async fn list(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &[LIST_PARAMS, &["filename", "relative_dirname"]].concat())?;
    let listing = Listing::from_params(&params)?;
    let files = params.list("filename");
    let dir = params.get("relative_dirname");
    let items: Vec<Value> = FileKind::Lists
        .files(&api)
        .into_iter()
        .filter_map(|(path, _)| {
            let (d, name) = split(&path);
            let wanted = files.as_ref().is_none_or(|f| f.iter().any(|x| x == name)) && dir.is_none_or(|x| x == d);
            if !wanted || !me.permissions.allows(Action::ListsRead, &Target::Named(FileKind::Lists.resource(), name)) {
                return None;
            }
            let text = std::fs::read(api.home.join(&path)).ok()?;
            let entries: Vec<Value> = text
                .split(|&b| b == b'\n')
                .filter_map(crate::ruleset::lists::entry)
                .map(|(k, v)| json!({"key": String::from_utf8_lossy(k), "value": String::from_utf8_lossy(v)}))
                .collect();
            Some(json!({"filename": name, "relative_dirname": d, "items": entries}))
        })
        .collect();
    let (page, total) = listing.apply(items, &["filename", "relative_dirname"])?;
    Ok(Affected::new("All specified lists were returned", "Some lists were not returned", "No list was returned")
        .page(page, total))
}
