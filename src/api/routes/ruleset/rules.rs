//! `GET /rules`, `/rules/groups` and `/rules/requirement/{requirement}`: the rules as Wazuh's API
//! reads them from their XML files.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Extension, Path, RawQuery, State};
use serde_json::{Map, Value, json};

use super::details::{add, add_pattern, attributes};
use super::{FileKind, split};
use crate::api::Api;
use crate::api::access::Principal;
use crate::api::envelope::{Affected, ItemError};
use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;
use crate::api::query::list::{LIST_PARAMS, Listing, SortKey};
use crate::api::routes::pick::pick;
use crate::xml::{Document, Element};

/// Compliance arrays of a rule, in Wazuh's order (`mitre` holds technique ids).
const REQUIREMENTS: [&str; 7] = ["pci_dss", "gdpr", "hipaa", "nist_800_53", "gpg13", "tsc", "mitre"];

/// Elements shown as `{"pattern": …}`.
const PATTERNS: &[&str] = &[
    "regex",
    "field",
    "match",
    "action",
    "extra_data",
    "hostname",
    "id",
    "location",
    "program_name",
    "protocol",
    "user",
    "url",
    "srcport",
    "dstport",
    "status",
    "system_name",
    "srcgeoip",
    "dstgeoip",
];

/// The rules of one file.
fn from_file(path: &str, enabled: bool, text: &str) -> Vec<Value> {
    // Variables are shown substituted, as Wazuh's API shows them.
    let Ok(mut doc) = Document::parse(text) else { return Vec::new() };
    if doc.apply_variables().is_err() {
        return Vec::new();
    }
    let (dir, name) = split(path);
    let mut rules = Vec::new();
    for group in doc.roots().filter(|e| e.name.eq_ignore_ascii_case("group")) {
        let general: Vec<&str> = group.attr("name").unwrap_or("").split(',').collect();
        for el in group.children().filter(|e| e.name.eq_ignore_ascii_case("rule")) {
            let (Some(id), Some(level)) = (el.attr("id"), el.attr("level")) else { continue };
            let (Ok(id), Ok(level)) = (id.trim().parse::<u32>(), level.trim().parse::<u32>()) else {
                continue;
            };
            rules.push(rule(el, id, level, &general, (dir, name), enabled));
        }
    }
    rules
}

fn rule(el: &Element, id: u32, level: u32, general: &[&str], (dir, file): (&str, &str), enabled: bool) -> Value {
    let mut details = attributes(el, &["id", "level"]);
    let mut groups: Vec<String> = Vec::new();
    let mut description = String::new();
    for child in el.children() {
        let tag = child.name.to_lowercase();
        match tag.as_str() {
            "group" => groups.extend(child.text.split(',').map(str::to_owned)),
            "mitre" => groups.extend(child.children().map(|m| format!("mitre_{}", m.text))),
            "description" => description.push_str(&child.text),
            "list" | "info" => {
                let mut entry = json!({ "name": child.text });
                for a in &child.attributes {
                    entry[a.name.as_str()] = Value::from(a.value.as_str());
                }
                add(&mut details, &tag, entry);
            }
            t if PATTERNS.contains(&t) => {
                let mut shown = child.clone();
                let key = if t == "field" { child.attr("name").unwrap_or("field").to_owned() } else { tag.clone() };
                shown.attributes.retain(|a| !(t == "field" && a.name == "name"));
                add_pattern(&mut details, &key, &shown);
            }
            _ => add(&mut details, &tag, Value::from(child.text.as_str())),
        }
    }
    let mut out: Map<String, Value> = Map::new();
    for req in REQUIREMENTS {
        out.insert(req.into(), json!([]));
    }
    let mut plain = Vec::new();
    for group in groups.iter().map(String::as_str).chain(general.iter().copied()) {
        let group: String = group.trim().chars().filter(|c| *c != '\n' && *c != '\r').collect();
        // `<requirement><one separator><value>`; the separator may be any character.
        let routed = REQUIREMENTS.iter().find_map(|r| {
            let rest = group.strip_prefix(r)?;
            let mut chars = rest.chars();
            chars.next()?;
            Some((*r, chars.as_str()))
        });
        match routed {
            Some((req, value)) => {
                let value = Value::from(value);
                if let Some(Value::Array(items)) = out.get_mut(req)
                    && !items.contains(&value)
                {
                    items.push(value);
                }
            }
            None if !group.is_empty() => plain.push(Value::from(group)),
            None => {}
        }
    }
    out.insert("filename".into(), file.into());
    out.insert("relative_dirname".into(), dir.into());
    out.insert("id".into(), id.into());
    out.insert("level".into(), level.into());
    out.insert("status".into(), (if enabled { "enabled" } else { "disabled" }).into());
    out.insert("details".into(), Value::Object(details));
    out.insert("groups".into(), Value::Array(plain));
    out.insert("description".into(), description.into());
    Value::Object(out)
}

/// Every rule of every rule file the caller may read.
fn all(api: &Api, me: &Principal) -> Vec<Value> {
    FileKind::Rules.items(api, me, from_file)
}

fn by_id() -> Vec<SortKey> {
    vec![SortKey { field: "id".into(), ascending: true }]
}

/// `GET /rules`.
pub async fn list(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    const FILTERS: &[&str] = &[
        "rule_ids",
        "status",
        "group",
        "level",
        "filename",
        "relative_dirname",
        "pci_dss",
        "gdpr",
        "gpg13",
        "hipaa",
        "nist-800-53",
        "tsc",
        "mitre",
    ];
    let params = Params::accept(q.as_deref(), &[LIST_PARAMS, FILTERS].concat())?;
    let listing = Listing::from_params(&params)?;
    let status = params.get("status").unwrap_or("all");
    if !["enabled", "disabled", "all"].contains(&status) {
        return Err(ApiError::wazuh(1202, "Argument 'status' must be: enabled, disabled or all"));
    }
    let levels = params.get("level").map(level_range).transpose()?;
    let mut out =
        Affected::new("All selected rules were returned", "Some rules were not returned", "No rule was returned");
    let rules = all(&api, &me).into_iter().map(|r| (r["id"].to_string(), r));
    let named = params.list("rule_ids");
    let mut items = pick(
        named.as_deref(),
        rules,
        |_| true,
        ItemError { code: 1208, message: "The specified rule does not exist", remediation: None },
        &mut out,
    );
    let has = |item: &Value, key: &str, want: &str| match &item[key] {
        Value::Array(values) => values.iter().any(|v| v == want),
        other => other == want,
    };
    items.retain(|r| status == "all" || r["status"] == status);
    if let Some((low, high)) = levels {
        items.retain(|r| r["level"].as_u64().is_some_and(|l| (low..=high).contains(&l)));
    }
    for (param, key) in [
        ("group", "groups"),
        ("filename", "filename"),
        ("relative_dirname", "relative_dirname"),
        ("pci_dss", "pci_dss"),
        ("gdpr", "gdpr"),
        ("gpg13", "gpg13"),
        ("hipaa", "hipaa"),
        ("nist-800-53", "nist_800_53"),
        ("tsc", "tsc"),
        ("mitre", "mitre"),
    ] {
        if let Some(want) = params.get(param) {
            items.retain(|r| has(r, key, want));
        }
    }
    let listing = if listing.sort.is_empty() { Listing { sort: by_id(), ..listing } } else { listing };
    let (page, total) = listing.apply(items, &["id"])?;
    Ok(out.page(page, total))
}

/// `level=5` or `level=2-4`.
fn level_range(raw: &str) -> ApiResult<(u64, u64)> {
    let bad = || ApiError::bad_request(format!("'{raw}' is not a level or a range of levels"));
    let (low, high) = raw.split_once('-').unwrap_or((raw, raw));
    let (low, high): (u64, u64) = (low.parse().map_err(|_| bad())?, high.parse().map_err(|_| bad())?);
    if low > high || high > 16 { Err(bad()) } else { Ok((low, high)) }
}

/// Pages a list of strings with `offset`, `limit`, `search` and an ascending or descending sort.
fn strings(values: BTreeSet<String>, params: &Params, message: &'static str) -> ApiResult<Affected> {
    params.only(&["offset", "limit", "sort", "search"])?;
    let listing = Listing::from_params(params)?;
    let mut values: Vec<String> = values.into_iter().collect();
    if let Some((needle, negated)) = &listing.search {
        values.retain(|v| v.to_lowercase().contains(needle.as_str()) != *negated);
    }
    if listing.sort.first().is_some_and(|k| !k.ascending) {
        values.reverse();
    }
    let total = values.len();
    let page = values.into_iter().skip(listing.offset).take(listing.limit).map(Value::from).collect();
    Ok(Affected::new(message, "", "").page(page, total))
}

/// `GET /rules/groups`.
pub async fn groups(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::parse(q.as_deref());
    let groups: BTreeSet<String> = all(&api, &me)
        .iter()
        .flat_map(|r| r["groups"].as_array().cloned().unwrap_or_default())
        .filter_map(|g| g.as_str().map(str::to_owned))
        .collect();
    strings(groups, &params, "All selected groups were returned")
}

/// `GET /rules/requirement/{requirement}`.
pub async fn requirement(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path(requirement): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let key = requirement.replace('-', "_");
    if !REQUIREMENTS.contains(&key.as_str()) {
        return Err(ApiError::bad_request(format!(
            "'{requirement}' is not one of ['pci_dss', 'gdpr', 'hipaa', 'nist-800-53', 'gpg13', 'tsc', 'mitre']"
        )));
    }
    let params = Params::parse(q.as_deref());
    let values: BTreeSet<String> = all(&api, &me)
        .iter()
        .flat_map(|r| r[key.as_str()].as_array().cloned().unwrap_or_default())
        .filter_map(|g| g.as_str().map(str::to_owned))
        .collect();
    strings(values, &params, "All selected requirements were returned")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_as_wazuhs_api_shows_them() {
        let text = r#"<var name="LVL">5</var>
<group name="syslog,sshd,">
  <rule id="5710" level="$LVL" frequency="8">
    <if_sid>5700</if_sid>
    <match>illegal user|invalid user</match>
    <field name="srcuser" type="pcre2">^root$</field>
    <description>sshd: Attempt to login using a non-existent user</description>
    <mitre><id>T1110.001</id></mitre>
    <group>invalid_login,pci_dss_10.2.4,gdpr_IV_35.7.d,</group>
  </rule>
</group>"#;
        let rules = from_file("ruleset/rules/0095-sshd_rules.xml", true, text);
        let r = &rules[0];
        assert_eq!(r["id"], 5710);
        assert_eq!(r["level"], 5);
        assert_eq!(r["filename"], "0095-sshd_rules.xml");
        assert_eq!(r["relative_dirname"], "ruleset/rules");
        assert_eq!(r["groups"], json!(["invalid_login", "syslog", "sshd"]));
        assert_eq!(r["pci_dss"], json!(["10.2.4"]));
        assert_eq!(r["gdpr"], json!(["IV_35.7.d"]));
        assert_eq!(r["mitre"], json!(["T1110.001"]));
        assert_eq!(r["details"]["frequency"], "8");
        assert_eq!(r["details"]["if_sid"], "5700");
        assert_eq!(r["details"]["match"], json!({"pattern": "illegal user|invalid user"}));
        assert_eq!(r["details"]["srcuser"], json!({"pattern": "^root$", "type": "pcre2"}));
        assert_eq!(level_range("2-4").expect("test value"), (2, 4));
        let odd = from_file(
            "x/y.xml",
            true,
            r#"<group name="gdprÄ,pci_dssé1,"><rule id="1" level="0"><description>d</description></rule></group>"#,
        );
        assert_eq!(odd[0]["gdpr"], json!([""]), "a requirement with a one-character separator, whatever the character");
        assert_eq!(odd[0]["pci_dss"], json!(["1"]));
        assert!(level_range("4-2").is_err());
    }
}
