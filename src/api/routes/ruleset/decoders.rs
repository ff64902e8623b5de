//! `GET /decoders` and `/decoders/parents`: the decoders as Wazuh's API reads them from their XML
//! files.

use std::sync::Arc;

use axum::extract::{Extension, RawQuery, State};
use serde_json::{Value, json};

use super::details::{add_pattern, attributes};
use super::{FileKind, split};
use crate::api::Api;
use crate::api::access::Principal;
use crate::api::envelope::Affected;
use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;
use crate::api::query::list::{LIST_PARAMS, Listing};
use crate::xml::Document;

/// Elements shown as `{"pattern": …}`.
const PATTERNS: &[&str] = &["program_name", "prematch", "regex"];

/// The decoders of one file.
fn from_file(path: &str, enabled: bool, text: &str) -> Vec<Value> {
    let Ok(doc) = Document::parse(text) else { return Vec::new() };
    let (dir, file) = split(path);
    doc.roots()
        .filter(|e| e.name.eq_ignore_ascii_case("decoder"))
        .enumerate()
        .map(|(position, el)| {
            let mut details = attributes(el, &["name"]);
            for child in el.children() {
                let tag = child.name.to_lowercase();
                if PATTERNS.contains(&tag.as_str()) {
                    add_pattern(&mut details, &tag, child);
                } else {
                    details.insert(tag, Value::from(child.text.as_str()));
                }
            }
            json!({
                "filename": file,
                "relative_dirname": dir,
                "status": if enabled { "enabled" } else { "disabled" },
                "name": el.attr("name").unwrap_or(""),
                "position": position,
                "details": details,
            })
        })
        .collect()
}

fn all(api: &Api, me: &Principal) -> Vec<Value> {
    FileKind::Decoders.items(api, me, from_file)
}

fn answer(items: Vec<Value>, listing: Listing) -> ApiResult<Affected> {
    let (page, total) = listing.apply(items, &["name"])?;
    Ok(Affected::new(
        "All selected decoders were returned",
        "Some decoders were not returned",
        "No decoder was returned",
    )
    .page(page, total))
}

/// `GET /decoders`.
pub async fn list(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::accept(
        q.as_deref(),
        &[LIST_PARAMS, &["decoder_names", "filename", "relative_dirname", "status"]].concat(),
    )?;
    let listing = Listing::from_params(&params)?;
    let status = params.get("status").unwrap_or("all");
    if !["enabled", "disabled", "all"].contains(&status) {
        return Err(ApiError::wazuh(1202, "Argument 'status' must be: enabled, disabled or all"));
    }
    let names = params.list("decoder_names");
    let files = params.list("filename");
    let dir = params.get("relative_dirname");
    let items = all(&api, &me)
        .into_iter()
        .filter(|d| status == "all" || d["status"] == status)
        .filter(|d| names.as_ref().is_none_or(|n| n.iter().any(|x| d["name"] == x.as_str())))
        .filter(|d| files.as_ref().is_none_or(|f| f.iter().any(|x| d["filename"] == x.as_str())))
        .filter(|d| dir.is_none_or(|x| d["relative_dirname"] == x))
        .collect();
    answer(items, listing)
}

/// `GET /decoders/parents`: decoders without a parent.
pub async fn parents(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &["offset", "limit", "select", "sort", "search"])?;
    let listing = Listing::from_params(&params)?;
    let items = all(&api, &me).into_iter().filter(|d| d["details"].get("parent").is_none()).collect();
    answer(items, listing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoders_read_as_wazuhs_api_shows_them() {
        let text = r#"<decoder name="sshd"><program_name>^sshd</program_name></decoder>
<decoder name="sshd-success"><parent>sshd</parent><prematch offset="after_parent">^Accepted</prematch><regex>^ \S+ for (\S+)</regex><order>user</order></decoder>"#;
        let decoders = from_file("ruleset/decoders/0310-ssh_decoders.xml", true, text);
        assert_eq!(decoders.len(), 2);
        assert_eq!(decoders[0]["details"], json!({"program_name": {"pattern": "^sshd"}}));
        assert_eq!(decoders[1]["position"], 1);
        assert_eq!(decoders[1]["details"]["parent"], "sshd");
        assert_eq!(decoders[1]["details"]["prematch"], json!({"pattern": "^Accepted", "offset": "after_parent"}));
        assert_eq!(decoders[1]["details"]["order"], "user");
    }
}
