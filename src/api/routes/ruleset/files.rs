//! `/{rules,decoders,lists}/files[/{filename}]`: listing, reading (raw or parsed), and writing or
//! deleting user files, each change validated and reloaded.

use std::sync::Arc;

use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{FileKind, split};
use crate::api::Api;
use crate::api::access::Principal;
use crate::api::envelope::{Affected, ItemError};
use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;
use crate::api::query::list::{LIST_PARAMS, Listing};
use crate::api::rbac::{Action, Target};
use crate::api::reload::{change_file, safe_name};
use crate::api::routes::extract::OctetText;

fn allowed(me: &Principal, action: Action, kind: FileKind, filename: &str) -> bool {
    me.permissions.allows(action, &Target::Named(kind.resource(), filename))
}

/// The files of `kind` as the API lists them.
fn rows(api: &Api, me: &Principal, kind: FileKind) -> Vec<Value> {
    kind.files(api)
        .into_iter()
        .filter_map(|(path, enabled)| {
            let (dir, name) = split(&path);
            if !allowed(me, kind.read(), kind, name) {
                return None;
            }
            let mut row = json!({"filename": name, "relative_dirname": dir});
            if kind != FileKind::Lists {
                row["status"] = (if enabled { "enabled" } else { "disabled" }).into();
            }
            Some(row)
        })
        .collect()
}

fn list(api: &Api, me: &Principal, kind: FileKind, query: Option<&str>) -> ApiResult<Affected> {
    let params = Params::accept(query, &[LIST_PARAMS, &["status", "filename", "relative_dirname"]].concat())?;
    let listing = Listing::from_params(&params)?;
    let status = params.get("status").unwrap_or("all");
    if !["enabled", "disabled", "all"].contains(&status) {
        return Err(ApiError::wazuh(1202, "Argument 'status' must be: enabled, disabled or all"));
    }
    let filenames = params.list("filename");
    let dir = params.get("relative_dirname");
    let items: Vec<Value> = rows(api, me, kind)
        .into_iter()
        .filter(|r| status == "all" || r["status"] == status)
        .filter(|r| filenames.as_ref().is_none_or(|f| f.iter().any(|n| r["filename"] == n.as_str())))
        .filter(|r| dir.is_none_or(|d| r["relative_dirname"] == d))
        .collect();
    let listing = if listing.sort.is_empty() { Listing { sort: by_filename(), ..listing } } else { listing };
    let (page, total) = listing.apply(items, &["filename"])?;
    Ok(Affected::new("All selected files were returned", "Some files were not returned", "No file was returned")
        .page(page, total))
}

fn by_filename() -> Vec<crate::api::query::list::SortKey> {
    vec![crate::api::query::list::SortKey { field: "filename".into(), ascending: true }]
}

/// The home-relative path of `filename` among `kind`'s files (in `relative_dirname` when given).
fn find(api: &Api, kind: FileKind, filename: &str, dir: Option<&str>) -> Option<String> {
    kind.files(api).into_iter().map(|(p, _)| p).find(|p| {
        let (d, n) = split(p);
        n == filename && dir.is_none_or(|want| want == d)
    })
}

fn get(api: &Api, me: &Principal, kind: FileKind, filename: &str, query: Option<&str>) -> ApiResult<Response> {
    let params = Params::accept(query, &["raw", "relative_dirname"])?;
    let raw = params.flag("raw", false)?;
    if !allowed(me, kind.read(), kind, filename) {
        return Err(ApiError::permission_denied(format!(
            "Permission denied: Resource type: {}:{filename}",
            kind.resource().as_str()
        )));
    }
    let path = find(api, kind, filename, params.get("relative_dirname")).ok_or_else(|| {
        ApiError::wazuh(1906, format!("File does not exist: {filename}")).with_status(axum::http::StatusCode::NOT_FOUND)
    })?;
    let bytes = std::fs::read(api.home.join(&path))
        .map_err(|e| ApiError::wazuh(1005, format!("Error reading file {path}: {e}")))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if raw {
        return Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response());
    }
    let content = match kind {
        FileKind::Lists => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| crate::ruleset::lists::entry(l.as_bytes()))
            .map(|(key, value)| json!({"key": String::from_utf8_lossy(key), "value": String::from_utf8_lossy(value)}))
            .collect(),
        _ => {
            let doc = crate::xml::Document::parse(&text)
                .map_err(|e| ApiError::wazuh(1113, format!("XML syntax error: {e}")))?;
            vec![crate::api::xml_json::document(&doc)]
        }
    };
    let total = content.len();
    Ok(Affected::new("Selected file was returned", "", "No file was returned").page(content, total).into_response())
}

fn put_checks(kind: FileKind, filename: &str, params: &Params, text: &str) -> ApiResult<String> {
    params.only(&["overwrite", "relative_dirname"])?;
    safe_name(filename, if kind == FileKind::Lists { "" } else { ".xml" })?;
    if let Some(dir) = params.get("relative_dirname")
        && dir != kind.user_dir()
    {
        return Err(ApiError::wazuh(1801, format!("Files can only be written to {}", kind.user_dir())));
    }
    if kind == FileKind::Lists {
        if let Some((n, line)) = text
            .lines()
            .enumerate()
            .find(|(_, l)| !l.trim().is_empty() && crate::ruleset::lists::entry(l.as_bytes()).is_none())
        {
            return Err(ApiError::wazuh(
                1806,
                format!("Error trying to create CDB list file: line {} '{line}' is not 'key:value'", n + 1),
            ));
        }
    } else {
        crate::xml::Document::parse(text).map_err(|e| ApiError::wazuh(1113, format!("XML syntax error: {e}")))?;
    }
    Ok(format!("{}/{filename}", kind.user_dir()))
}

async fn put(
    api: &Api,
    me: &Principal,
    (kind, delete): (FileKind, Action),
    filename: &str,
    query: Option<&str>,
    text: String,
) -> ApiResult<Affected> {
    let params = Params::parse(query);
    let relative = put_checks(kind, filename, &params, &text)?;
    let mut out = Affected::new("File was successfully updated", "", "Could not update file");
    if api.home.join(&relative).exists() {
        if !params.flag("overwrite", false)? {
            return Err(ApiError::wazuh(1905, "File could not be updated, it already exists"));
        }
        // Overwriting is deleting the old file: it needs the delete right on that file.
        if !allowed(me, delete, kind, filename) {
            out.fail(ItemError::DENIED, filename);
            return Ok(out);
        }
    }
    change_file(api, &relative, Some(text.into_bytes())).await?;
    out.push(Value::from(relative));
    Ok(out)
}

async fn delete(
    api: &Api,
    me: &Principal,
    kind: FileKind,
    delete: Action,
    filename: &str,
    query: Option<&str>,
) -> ApiResult<Affected> {
    let params = Params::accept(query, &["relative_dirname"])?;
    safe_name(filename, if kind == FileKind::Lists { "" } else { ".xml" })?;
    let mut out = Affected::new("File was successfully deleted", "", "Could not delete file");
    if !allowed(me, delete, kind, filename) {
        out.fail(ItemError::DENIED, filename);
        return Ok(out);
    }
    let relative = format!("{}/{filename}", kind.user_dir());
    if params.get("relative_dirname").is_some_and(|d| d != kind.user_dir()) || !api.home.join(&relative).exists() {
        out.fail(ItemError { code: 1906, message: "File does not exist", remediation: None }, filename);
        return Ok(out);
    }
    change_file(api, &relative, None).await?;
    out.push(Value::from(relative));
    Ok(out)
}

macro_rules! file_routes {
    ($($kind:expr, $delete_action:expr => $list:ident, $get:ident, $put:ident, $delete:ident;)*) => {$(
        #[doc = concat!("`GET` files of ", stringify!($kind), ".")]
        pub async fn $list(State(api): State<Arc<Api>>, Extension(me): Extension<Arc<Principal>>, RawQuery(q): RawQuery) -> ApiResult<Affected> {
            list(&api, &me, $kind, q.as_deref())
        }

        #[doc = concat!("`GET` one file of ", stringify!($kind), ".")]
        pub async fn $get(
            State(api): State<Arc<Api>>,
            Extension(me): Extension<Arc<Principal>>,
            Path(filename): Path<String>,
            RawQuery(q): RawQuery,
        ) -> ApiResult<Response> {
            get(&api, &me, $kind, &filename, q.as_deref())
        }

        #[doc = concat!("`PUT` one file of ", stringify!($kind), ".")]
        pub async fn $put(
            State(api): State<Arc<Api>>,
            Extension(me): Extension<Arc<Principal>>,
            Path(filename): Path<String>,
            RawQuery(q): RawQuery,
            OctetText(text): OctetText,
        ) -> ApiResult<Affected> {
            put(&api, &me, ($kind, $delete_action), &filename, q.as_deref(), text).await
        }

        #[doc = concat!("`DELETE` one file of ", stringify!($kind), ".")]
        pub async fn $delete(
            State(api): State<Arc<Api>>,
            Extension(me): Extension<Arc<Principal>>,
            Path(filename): Path<String>,
            RawQuery(q): RawQuery,
        ) -> ApiResult<Affected> {
            delete(&api, &me, $kind, $delete_action, &filename, q.as_deref()).await
        }
    )*};
}

file_routes! {
    FileKind::Rules, Action::RulesDelete => list_rules, get_rules, put_rules, delete_rules;
    FileKind::Decoders, Action::DecodersDelete => list_decoders, get_decoders, put_decoders, delete_decoders;
    FileKind::Lists, Action::ListsDelete => list_lists, get_lists, put_lists, delete_lists;
}
