//! Reading the registry: `GET /agents` (paged straight from the store when nothing but paging is
//! asked), the summaries, `no_group`, `outdated`, `stats/distinct` and `/overview/agents`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, RawQuery, State};
use serde_json::{Value, json};

use super::{AgentView, agent_json, iso, manager_json, may};
use crate::api::Api;
use crate::api::access::Principal;
use crate::api::envelope::{Affected, ItemError, result};
use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;
use crate::api::query::list::{LIST_PARAMS, Listing};
use crate::api::query::q::{Expr, Op, lookup};
use crate::api::rbac::{Action, Target};
use crate::api::routes::pick::pick;
use crate::store::Status;

/// `GET /agents` filters and the fields they compare.
pub const FIELD_FILTERS: &[&str] = &[
    "status",
    "os.platform",
    "os.version",
    "os.name",
    "manager",
    "version",
    "group",
    "node_name",
    "name",
    "ip",
    "registerIP",
    "group_config_status",
];

/// Every agent the caller may `action`, manager first, as the API shows them; ids named in
/// `agents_list` that are missing or forbidden are recorded in `out`.
pub fn visible(
    api: &Api,
    me: &Principal,
    action: Action,
    named: Option<&[String]>,
    out: &mut Affected,
) -> ApiResult<Vec<Value>> {
    let agents = api.store.agents()?;
    let manager_allowed = me.permissions.allows(action, &Target::Agent { id: "000", groups: &[] });
    let all = std::iter::once(("000".to_owned(), (manager_allowed, manager_json(api))))
        .chain(agents.iter().map(|a| (a.id.to_string(), (may(me, action, a), agent_json(api, a)))));
    Ok(pick(named, all, |(allowed, _)| *allowed, ItemError::NO_AGENT, out).into_iter().map(|(_, v)| v).collect())
}

/// A row of the paged list: the manager, then agents.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Row<'a> {
    Manager(Value),
    Agent(Box<AgentView<'a>>),
}

/// A `field=value` term.
fn term(field: &str, op: Op, value: &str) -> Expr {
    Expr::Term { field: field.into(), op, value: value.into() }
}

/// The filters of `GET /agents` as one expression: the field parameters, `statuses` (the
/// `status` parameter as the route reads it) and `older_than`.
pub fn filters(
    params: &Params,
    statuses: Option<&[String]>,
    older_than: Option<&str>,
    now: i64,
) -> ApiResult<Option<Expr>> {
    let mut all = Vec::new();
    if let Some(values) = statuses {
        if let Some(bad) = values.iter().find(|v| v.parse::<Status>().is_err()) {
            return Err(ApiError::bad_request(format!(
                "'{bad}' is not one of ['active', 'pending', 'never_connected', 'disconnected']"
            )));
        }
        all.push(Expr::Or(values.iter().map(|v| term("status", Op::Eq, v)).collect()));
    }
    for field in FIELD_FILTERS.iter().filter(|f| **f != "status") {
        if let Some(values) = params.list(field) {
            all.push(Expr::Or(values.iter().map(|v| term(field, Op::Eq, v)).collect()));
        }
    }
    if let Some(raw) = older_than {
        let seconds = timeframe(raw).ok_or_else(|| ApiError::bad_request(format!("'{raw}' is not a 'timeframe'")))?;
        let cut = iso(now - seconds);
        all.push(Expr::Or(vec![
            term("lastKeepAlive", Op::Lt, &cut),
            Expr::And(vec![term("status", Op::Eq, "never_connected"), term("dateAdd", Op::Lt, &cut)]),
        ]));
    }
    Ok((!all.is_empty()).then_some(Expr::And(all)))
}

/// Wazuh's `timeframe`: seconds, or a number with `s`, `m`, `h`, `d` or `w`.
pub fn timeframe(raw: &str) -> Option<i64> {
    let (digits, unit) = match raw.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&raw[..i], c),
        _ => (raw, 's'),
    };
    let n: i64 = digits.parse().ok().filter(|n| *n >= 0)?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    n.checked_mul(scale)
}

/// `GET /agents`.
pub async fn list(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &[LIST_PARAMS, FIELD_FILTERS, &["agents_list", "older_than"]].concat())?;
    let listing = Listing::from_params(&params)?;
    let filter = filters(&params, params.list("status").as_deref(), params.get("older_than"), crate::server::now())?;
    let named = params.list("agents_list");
    let out = Affected::new(
        "All selected agents information was returned",
        "Some agents information was not returned",
        "No agent information was returned",
    );
    if listing.is_plain() && filter.is_none() && named.is_none() && me.permissions.unrestricted(Action::AgentRead) {
        // The manager is row 0; the store pages the rest without reading the others.
        let (skip, take) = (listing.offset.saturating_sub(1), listing.limit - usize::from(listing.offset == 0));
        let (agents, total) = api.store.agents_page(skip, take)?;
        let manager = (listing.offset == 0).then(|| Row::Manager(manager_json(&api)));
        let rows: Vec<Row<'_>> =
            manager.into_iter().chain(agents.iter().map(|a| Row::Agent(Box::new(AgentView::new(&api, a))))).collect();
        return Ok(out.page_of(&rows, total + 1));
    }
    let mut out = out;
    let mut items = visible(&api, &me, Action::AgentRead, named.as_deref(), &mut out)?;
    if let Some(filter) = filter {
        items.retain(|i| filter.matches(i));
    }
    let (page, total) = listing.apply(items, &["id"])?;
    Ok(out.page(page, total))
}

/// Counts by status and configuration state.
fn status_summary(counts: [usize; 4], synced: usize) -> Value {
    let total: usize = counts.iter().sum();
    let mut connection: serde_json::Map<String, Value> =
        Status::ALL.iter().zip(counts).map(|(s, n)| (s.as_str().to_owned(), n.into())).collect();
    connection.insert("total".into(), total.into());
    json!({
        "connection": connection,
        "configuration": {"synced": synced, "not_synced": total - synced, "total": total},
    })
}

/// Status counts of what the caller may see (the store's index when it may see everything).
fn summary(api: &Api, me: &Principal) -> ApiResult<Value> {
    if me.permissions.unrestricted(Action::AgentRead) {
        let (mut counts, synced) = api.store.status_counts()?;
        counts[2] += 1; // the manager, always active and in sync
        return Ok(status_summary(counts, synced + 1));
    }
    let items = visible(api, me, Action::AgentRead, None, &mut Affected::new("", "", ""))?;
    let mut counts = [0; 4];
    for item in &items {
        if let Some(i) = Status::ALL.iter().position(|s| item["status"] == s.as_str()) {
            counts[i] += 1;
        }
    }
    let synced = items.iter().filter(|i| i["group_config_status"] == "synced").count();
    Ok(status_summary(counts, synced))
}

/// `GET /agents/summary/status`.
pub async fn summary_status(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    Params::accept(q.as_deref(), &[])?;
    Ok(result(summary(&api, &me)?, None))
}

/// `GET /agents/summary/os`: the platforms of the agents.
pub async fn summary_os(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let mut out = Affected::new(
        "Showing the operative system of all specified agents",
        "",
        "Could not show the operative system of the agents",
    );
    let items = visible(&api, &me, Action::AgentRead, None, &mut out)?;
    let platforms: std::collections::BTreeSet<String> =
        items.iter().filter_map(|i| i["os"]["platform"].as_str().map(str::to_owned)).collect();
    out.extend(platforms.into_iter().map(Value::from));
    Ok(out)
}

/// Lists the visible agents (not the manager) that `keep` accepts.
fn listed(
    api: &Api,
    me: &Principal,
    query: Option<&str>,
    keep: impl Fn(&Value) -> bool,
    always: &[&str],
) -> ApiResult<Affected> {
    let params = Params::accept(query, LIST_PARAMS)?;
    let listing = Listing::from_params(&params)?;
    let mut out = Affected::new(
        "All selected agents information was returned",
        "Some agents information was not returned",
        "No agent information was returned",
    );
    let items: Vec<Value> = visible(api, me, Action::AgentRead, None, &mut out)?
        .into_iter()
        .filter(|i| i["id"] != "000" && keep(i))
        .collect();
    let (page, total) = listing.apply(items, always)?;
    Ok(out.page(page, total))
}

/// `GET /agents/no_group`.
pub async fn no_group(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    listed(&api, &me, q.as_deref(), |i| i.get("group").is_none(), &["id"])
}

/// Whether `version` (`Wazuh v4.8.0`) is older than the manager's.
fn older(version: &str) -> bool {
    let parse = |v: &str| -> Vec<u32> {
        v.trim_start_matches("Wazuh ").trim_start_matches('v').split('.').filter_map(|p| p.parse().ok()).collect()
    };
    parse(version) < parse(crate::api::routes::info::WAZUH_API_VERSION)
}

/// `GET /agents/outdated`.
pub async fn outdated(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    listed(&api, &me, q.as_deref(), |i| i["version"].as_str().is_some_and(older), &["id", "name", "version"])
}

/// `GET /agents/stats/distinct?fields=`: each combination of the fields' values and its count.
pub async fn distinct(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &[LIST_PARAMS, &["fields"]].concat())?;
    let fields = params
        .list("fields")
        .filter(|f| !f.is_empty())
        .ok_or_else(|| ApiError::bad_request("Missing query parameter 'fields'"))?;
    let listing = Listing::from_params(&params)?;
    let mut out = Affected::new(
        "All selected agents information was returned",
        "Some agents information was not returned",
        "No agent information was returned",
    );
    let mut items = visible(&api, &me, Action::AgentRead, None, &mut out)?;
    if let Some(q) = &listing.q {
        items.retain(|i| q.matches(i));
    }
    let mut counts: BTreeMap<String, (Value, usize)> = BTreeMap::new();
    for item in &items {
        let mut combo = json!({});
        for field in &fields {
            let value = lookup(item, field).cloned().unwrap_or(Value::Null);
            crate::api::query::list::insert_path(&mut combo, field, value);
        }
        counts.entry(combo.to_string()).or_insert((combo, 0)).1 += 1;
    }
    let rows = counts
        .into_values()
        .map(|(mut combo, n)| {
            combo["count"] = n.into();
            combo
        })
        .collect();
    let listing = Listing { q: None, ..listing };
    let (page, total) = listing.apply(rows, &[])?;
    Ok(out.page(page, total))
}

/// `GET /overview/agents`: the dashboard's home page in one answer.
pub async fn overview(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    Params::accept(q.as_deref(), &[])?;
    let items = visible(&api, &me, Action::AgentRead, None, &mut Affected::new("", "", ""))?;
    let count_by = |key: &dyn Fn(&Value) -> Option<Value>| -> Vec<(Value, usize)> {
        let mut counts: BTreeMap<String, (Value, usize)> = BTreeMap::new();
        for item in &items {
            if let Some(k) = key(item) {
                counts.entry(k.to_string()).or_insert((k, 0)).1 += 1;
            }
        }
        counts.into_values().collect()
    };
    let nodes: Vec<Value> = count_by(&|i| Some(i["node_name"].clone()))
        .into_iter()
        .map(|(n, c)| json!({"node_name": n, "count": c}))
        .collect();
    let versions: Vec<Value> =
        count_by(&|i| i.get("version").cloned()).into_iter().map(|(v, c)| json!({"version": v, "count": c})).collect();
    let os: Vec<Value> = count_by(&|i| {
        i.get("os").map(|o| json!({"name": o.get("name"), "platform": o.get("platform"), "version": o.get("version")}))
    })
    .into_iter()
    .map(|(o, c)| json!({"os": o, "count": c}))
    .collect();
    let groups: Vec<Value> = api
        .store
        .groups()?
        .iter()
        .filter(|g| {
            me.permissions.allows(Action::GroupRead, &Target::Named(crate::api::rbac::Kind::GroupId, g.name.as_str()))
        })
        .map(|g| {
            let count = items
                .iter()
                .filter(|i| i["group"].as_array().is_some_and(|a| a.iter().any(|x| x == g.name.as_str())))
                .count();
            json!({"name": g.name, "count": count})
        })
        .collect();
    let last = items
        .iter()
        .filter(|i| i["id"] != "000")
        .max_by(|a, b| {
            a["dateAdd"].as_str().cmp(&b["dateAdd"].as_str()).then_with(|| a["id"].as_str().cmp(&b["id"].as_str()))
        })
        .cloned();
    Ok(result(
        json!({
            "nodes": nodes,
            "groups": groups,
            "agent_os": os,
            "agent_status": summary(&api, &me)?,
            "agent_version": versions,
            "last_registered_agent": last.into_iter().collect::<Vec<_>>(),
        }),
        None,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeframes_read_as_wazuh_reads_them() {
        assert_eq!(timeframe("7d"), Some(604_800));
        assert_eq!(timeframe("10h"), Some(36_000));
        assert_eq!(timeframe("30m"), Some(1800));
        assert_eq!(timeframe("45s"), Some(45));
        assert_eq!(timeframe("120"), Some(120));
        assert_eq!(timeframe("1w"), Some(604_800));
        for bad in ["", "d", "-1d", "5y", "1.5h"] {
            assert_eq!(timeframe(bad), None, "{bad}");
        }
    }

    #[test]
    fn versions_older_than_the_managers_are_outdated() {
        assert!(older("Wazuh v4.8.0"));
        assert!(older("Wazuh v4.14.6"));
        assert!(!older("Wazuh v4.14.7"));
        assert!(!older("Wazuh v5.0.0"));
    }
}
