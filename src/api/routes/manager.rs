//! `/manager/*`: vigil's services under Wazuh's daemon names, its configuration, its log, its
//! counters, ruleset reload and restart; and `GET /metrics` in Prometheus text.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::api::Api;
use crate::api::access::{Access, Routes};
use crate::api::envelope::Affected;
use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;
use crate::api::query::list::{LIST_PARAMS, Listing, SortKey};
use crate::api::rbac::Action::*;
use crate::api::routes::extract::OctetText;
use crate::api::routes::info::WAZUH_API_VERSION;

/// Adds the routes.
pub fn add(routes: Routes) -> Routes {
    routes
        .add(Method::GET, "/manager/status", Access::Actions(&[ManagerRead]), status)
        .add(Method::GET, "/manager/info", Access::Actions(&[ManagerRead]), info)
        .add(Method::GET, "/manager/configuration", Access::Actions(&[ManagerRead]), configuration)
        .add(Method::PUT, "/manager/configuration", Access::Actions(&[ManagerUpdateConfig]), set_configuration)
        .add(Method::GET, "/manager/configuration/validation", Access::Actions(&[ManagerRead]), validation)
        .add(Method::GET, "/manager/api/config", Access::Actions(&[ManagerReadApiConfig]), api_config)
        .add(Method::GET, "/manager/logs", Access::Actions(&[ManagerRead]), logs)
        .add(Method::GET, "/manager/logs/summary", Access::Actions(&[ManagerRead]), logs_summary)
        .add(Method::GET, "/manager/stats", Access::Actions(&[ManagerRead]), stats)
        .add(Method::GET, "/manager/stats/analysisd", Access::Actions(&[ManagerRead]), stats_analysisd)
        .add(Method::GET, "/manager/stats/remoted", Access::Actions(&[ManagerRead]), stats_remoted)
        .add(Method::GET, "/manager/stats/indexer", Access::Actions(&[ManagerRead]), stats_indexer)
        .add(Method::GET, "/manager/stats/integrations", Access::Actions(&[ManagerRead]), stats_integrations)
        .add(Method::GET, "/manager/daemons/stats", Access::Actions(&[ManagerRead]), daemons_stats)
        .add(Method::PUT, "/manager/analysisd/reload", Access::Actions(&[ManagerRead, ManagerRestart]), reload)
        .add(Method::PUT, "/manager/restart", Access::Actions(&[ManagerRead, ManagerRestart]), restart)
        .add(Method::GET, "/metrics", Access::Actions(&[ManagerRead]), metrics)
}

/// Wazuh's daemons and whether the vigil service doing each one's job runs.
fn daemons(api: &Api) -> Vec<(&'static str, bool)> {
    let s = &api.services;
    vec![
        ("wazuh-agentlessd", false),
        ("wazuh-analysisd", s.engine.is_some()),
        ("wazuh-authd", s.enrollment),
        ("wazuh-csyslogd", false),
        ("wazuh-dbd", false),
        ("wazuh-monitord", s.commands.is_some()),
        ("wazuh-execd", false),
        ("wazuh-integratord", false),
        ("wazuh-logcollector", false),
        ("wazuh-maild", false),
        ("wazuh-remoted", s.commands.is_some()),
        ("wazuh-reportd", false),
        ("wazuh-syscheckd", false),
        ("wazuh-clusterd", false),
        ("wazuh-modulesd", false),
        ("wazuh-db", true),
        ("wazuh-apid", true),
    ]
}

async fn status(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let map: Map<String, Value> = daemons(&api)
        .into_iter()
        .map(|(n, up)| (n.to_owned(), Value::from(if up { "running" } else { "stopped" })))
        .collect();
    let mut out =
        Affected::new("Processes status was successfully read", "", "Could not read basic information in any node");
    out.push(Value::Object(map));
    Ok(out)
}

async fn info(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let tz = jiff::tz::TimeZone::system();
    let offset = tz.to_offset(jiff::Timestamp::now());
    let mut out =
        Affected::new("Basic information was successfully read", "", "Could not read basic information in any node");
    out.push(json!({
        "path": api.home.display().to_string(),
        "version": format!("v{WAZUH_API_VERSION}"),
        "type": "server",
        "max_agents": "unlimited",
        "openssl_support": "yes",
        "tz_offset": offset.to_string().replace(':', ""),
        "tz_name": tz.iana_name().unwrap_or("UTC"),
        "server": format!("vigil {}", env!("CARGO_PKG_VERSION")),
    }));
    Ok(out)
}

/// The configuration as JSON under Wazuh's section names.
fn config_json(api: &Api) -> Value {
    let mut value = json!(*api.config);
    if let Value::Object(map) = &mut value {
        for (ours, wazuh) in
            [("integrations", "integration"), ("commands", "command"), ("active_responses", "active-response")]
        {
            if let Some(v) = map.remove(ours) {
                map.insert(wazuh.into(), v);
            }
        }
        map.remove("other");
    }
    value
}

async fn configuration(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let params = Params::accept(q.as_deref(), &["raw", "section", "field", "distinct"])?;
    if params.flag("raw", false)? {
        let text = std::fs::read_to_string(api.home.join("etc/ossec.conf"))
            .map_err(|e| ApiError::wazuh(1005, format!("Error reading file: {e}")))?;
        return Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response());
    }
    let mut config = config_json(&api);
    if let Some(section) = params.get("section") {
        let value =
            config.get(section).cloned().ok_or_else(|| ApiError::wazuh(1102, format!("Invalid section: {section}")))?;
        let value = match params.get("field") {
            Some(field) => {
                json!({ field: value.get(field).cloned().ok_or_else(|| ApiError::wazuh(1103, format!("Invalid field in section: {field}")))? })
            }
            None => value,
        };
        config = json!({ section: value });
    } else if params.get("field").is_some() {
        return Err(ApiError::wazuh(1103, "A field needs a section"));
    }
    let mut out = Affected::new("Configuration was successfully read", "", "Could not read configuration");
    out.push(config);
    Ok(out.into_response())
}

/// `PUT /manager/configuration`: a new `ossec.conf`, checked before it is written; it applies at
/// the next restart, as in Wazuh.
async fn set_configuration(
    State(api): State<Arc<Api>>,
    RawQuery(q): RawQuery,
    OctetText(text): OctetText,
) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let path = api.home.join("etc/ossec.conf");
    let loaded = crate::config::parse(&text, &path);
    let errors: Vec<String> = loaded.errors().map(|p| format!("line {}: {}", p.line, p.message)).collect();
    if !errors.is_empty() {
        return Err(ApiError::wazuh(1125, format!("Invalid ossec configuration: {}", errors.join("; "))));
    }
    crate::home::Home::write_atomic(&path, text.as_bytes(), 0o640)
        .map_err(|e| ApiError::wazuh(1126, format!("Error updating ossec configuration: {e}")))?;
    let mut out = Affected::new("Configuration was successfully updated", "", "Could not update configuration");
    out.push(Value::from(api.node_name()));
    Ok(out)
}

async fn validation(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let loaded = crate::config::load(&api.home.join("etc/ossec.conf"));
    let errors: Vec<String> =
        loaded.errors().map(|p| format!("{}:{}: {}", p.file.display(), p.line, p.message)).collect();
    let mut out = Affected::new("Validation was successfully checked", "", "Could not check validation");
    if errors.is_empty() {
        out.push(json!({"name": api.node_name(), "status": "OK"}));
    } else {
        out.push(json!({"name": api.node_name(), "status": "KO", "details": errors}));
    }
    Ok(out)
}

async fn api_config(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let mut out = Affected::new("API configuration was successfully read", "", "");
    out.push(json!({"node_name": api.node_name(), "api_config": api.config.api}));
    Ok(out)
}

/// One `ossec.log` line: `YYYY/MM/DD HH:MM:SS tag: LEVEL: text`.
fn log_entry(line: &str) -> Option<Value> {
    let (date, rest) = line.split_at_checked(19)?;
    let (tag, rest) = rest.trim_start().split_once(": ")?;
    let (level, description) = rest.split_once(": ")?;
    let level = level.to_lowercase();
    if !["critical", "debug", "debug2", "error", "info", "warning"].contains(&level.as_str()) {
        return None;
    }
    let timestamp = format!("{}T{}Z", date.get(..10)?.replace('/', "-"), date.get(11..)?);
    Some(json!({"timestamp": timestamp, "tag": tag, "level": level, "description": description}))
}

/// The log's entries, newest first.
fn log_entries(api: &Api) -> ApiResult<Vec<Value>> {
    let text = std::fs::read_to_string(api.home.join("logs/ossec.log"))
        .map_err(|e| ApiError::wazuh(1020, format!("Could not find any Wazuh log file: {e}")))?;
    Ok(text.lines().rev().filter_map(log_entry).collect())
}

async fn logs(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &[LIST_PARAMS, &["tag", "level"]].concat())?;
    let listing = Listing::from_params(&params)?;
    if listing.limit > 500 {
        return Err(ApiError::bad_request(format!("{} is greater than the maximum of 500", listing.limit)));
    }
    let tag = params.get("tag");
    let level = params.get("level");
    let items = log_entries(&api)?
        .into_iter()
        .filter(|e| tag.is_none_or(|t| e["tag"] == t) && level.is_none_or(|l| e["level"] == l))
        .collect();
    let listing = if listing.sort.is_empty() {
        Listing { sort: vec![SortKey { field: "timestamp".into(), ascending: false }], ..listing }
    } else {
        listing
    };
    let (page, total) = listing.apply(items, &[])?;
    Ok(Affected::new("Logs were successfully read", "", "Could not read logs").page(page, total))
}

async fn logs_summary(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let mut tags: std::collections::BTreeMap<String, Map<String, Value>> = std::collections::BTreeMap::new();
    for entry in log_entries(&api)? {
        let counts = tags.entry(entry["tag"].as_str().unwrap_or("").to_owned()).or_insert_with(|| {
            ["all", "info", "error", "critical", "warning", "debug"]
                .iter()
                .map(|k| ((*k).to_owned(), Value::from(0)))
                .collect()
        });
        for key in ["all", entry["level"].as_str().unwrap_or("")] {
            if let Some(n) = counts.get_mut(key) {
                *n = Value::from(n.as_u64().unwrap_or(0) + 1);
            }
        }
    }
    let mut out = Affected::new("Log was successfully summarized", "", "Could not summarize the log");
    out.extend(tags.into_iter().map(|(tag, counts)| json!({ tag: counts })));
    Ok(out)
}

/// `GET /manager/stats[?date=YYYY-MM-DD]`: the day's hourly totals (today's by default).
async fn stats(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &["date"])?;
    let day = match params.get("date") {
        Some(raw) => {
            raw.parse::<jiff::civil::Date>().map_err(|_| ApiError::bad_request(format!("'{raw}' is not a 'date'")))?
        }
        None => crate::engine::time::local(crate::server::now()).date(),
    };
    let path = crate::output::totals::file(&api.home.join(crate::server::queue::TOTALS_DIR), day);
    let text = std::fs::read_to_string(&path)
        .map_err(|_| ApiError::wazuh(1308, format!("Stats file does not exist: {}", path.display())))?;
    let hours = crate::output::totals::parse(&text)
        .ok_or_else(|| ApiError::internal(format!("{} is not a totals file", path.display())).with_code(1309))?;
    let mut out = Affected::new(
        "Statistical information for each node was successfully read",
        "",
        "Could not read statistical information for any node",
    );
    out.extend(hours.iter().map(|h| serde_json::to_value(h).unwrap_or_default()));
    Ok(out)
}

/// analysisd's counters as `wazuh-analysisd.state` names them.
fn analysisd(api: &Api) -> Value {
    let Some(sink) = &api.services.sink else { return json!({}) };
    let handled = sink.log.counts().events.load(Ordering::Relaxed);
    let malformed = sink.malformed.load(Ordering::Relaxed);
    let mut stats = json!({
        "total_events_decoded": sink.log.counts().decoded.load(Ordering::Relaxed),
        "events_processed": handled,
        "events_received": handled + malformed,
        "events_dropped": malformed,
        "alerts_written": sink.log.counts().alerts.load(Ordering::Relaxed),
        "event_queue_usage": 0.0,
        "event_queue_size": 0,
    });
    for (module, n) in sink.modules.decoded() {
        let key = if module == "dbsync" {
            "dbsync_messages_dispatched".to_owned()
        } else {
            format!("{module}_events_decoded")
        };
        stats[key] = Value::from(n);
    }
    stats
}

/// A daemon's statistics with its `uptime` (start) and `timestamp` as the API dates them.
fn dated(mut stats: Value) -> Value {
    for key in ["uptime", "timestamp"] {
        if let Some(t) = stats[key].as_i64() {
            stats[key] = Value::from(crate::api::routes::agents::iso(t));
        }
    }
    stats
}

/// analysisd's counters in the daemon-statistics layout (`metrics.events`, …).
fn analysisd_metrics(api: &Api) -> Value {
    let Some(sink) = &api.services.sink else { return json!({}) };
    let handled = sink.log.counts().events.load(Ordering::Relaxed);
    let malformed = sink.malformed.load(Ordering::Relaxed);
    json!({
        "events": {
            "processed": handled,
            "received": handled + malformed,
            "received_breakdown": {"discarded": malformed},
            "written_breakdown": {"alerts": sink.log.counts().alerts.load(Ordering::Relaxed)},
        },
        "queues": {},
    })
}

async fn stats_analysisd(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let mut out = Affected::new(
        "Statistical information for each node was successfully read",
        "",
        "Could not read statistical information for any node",
    );
    out.push(analysisd(&api));
    Ok(out)
}

/// `GET /manager/stats/indexer` (vigil's): the alert log's counters and each shipped stream's
/// counts, lag and hosts.
async fn stats_indexer(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let sink = api.services.sink.as_ref().ok_or_else(|| ApiError::wazuh(1017, "wazuh-analysisd is not running"))?;
    let log = sink.log.counts();
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let shipping: Vec<Value> = sink.shipping.get().into_iter().flatten().map(|s| s.json(now_ms)).collect();
    let mut out = Affected::new(
        "Statistical information for each node was successfully read",
        "",
        "Could not read statistical information for any node",
    );
    out.push(json!({
        "alert_log": {
            "events_written": log.events.load(Ordering::Relaxed),
            "alerts_written": log.alerts.load(Ordering::Relaxed),
            "bytes_written": log.bytes.load(Ordering::Relaxed),
            "syncs": log.syncs.load(Ordering::Relaxed),
            "write_errors": log.write_errors.load(Ordering::Relaxed),
            "stalled": log.stalled.load(Ordering::Relaxed),
        },
        "shipping": shipping,
    }));
    Ok(out)
}

/// `GET /manager/stats/integrations` (vigil's): each integration's counts, lag and breaker.
async fn stats_integrations(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let sink = api.services.sink.as_ref().ok_or_else(|| ApiError::wazuh(1017, "wazuh-analysisd is not running"))?;
    let mut out = Affected::new(
        "Statistical information for each node was successfully read",
        "",
        "Could not read statistical information for any node",
    );
    for stats in sink.integrations.get().into_iter().flatten() {
        out.push(stats.json());
    }
    Ok(out)
}

async fn stats_remoted(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let stats =
        api.services.remote_stats.as_ref().ok_or_else(|| ApiError::wazuh(1017, "wazuh-remoted is not running"))?;
    // The state file's `key='value'` lines, as numbers.
    let map: Map<String, Value> = stats
        .state_file(crate::server::state_files::INTERVAL.as_secs())
        .lines()
        .filter_map(|l| l.split_once("='"))
        .map(|(k, v)| (k.to_owned(), Value::from(v.trim_end_matches('\'').parse::<u64>().unwrap_or(0))))
        .collect();
    let mut out = Affected::new(
        "Statistical information for each node was successfully read",
        "",
        "Could not read statistical information for any node",
    );
    out.push(Value::Object(map));
    Ok(out)
}

async fn daemons_stats(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &["daemons_list"])?;
    let wanted = params
        .list("daemons_list")
        .unwrap_or_else(|| vec!["wazuh-analysisd".into(), "wazuh-remoted".into(), "wazuh-db".into()]);
    let now = crate::server::now();
    let mut out = Affected::new(
        "Statistical information for each daemon was successfully read",
        "Could not read statistical information for some daemons",
        "Could not read statistical information for any daemon",
    );
    for daemon in &wanted {
        match daemon.as_str() {
            "wazuh-remoted" => match &api.services.remote_stats {
                Some(stats) => out.push(dated(stats.json(now))),
                None => out.fail(
                    crate::api::envelope::ItemError {
                        code: 1121,
                        message: "Error connecting with socket",
                        remediation: None,
                    },
                    daemon.clone(),
                ),
            },
            "wazuh-analysisd" => out.push(dated(json!({
                "uptime": api.started, "timestamp": now, "name": "wazuh-analysisd", "metrics": analysisd_metrics(&api),
            }))),
            "wazuh-db" => {
                out.push(dated(json!({"uptime": api.started, "timestamp": now, "name": "wazuh-db", "metrics": {}})))
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "'{other}' is not one of ['wazuh-analysisd', 'wazuh-remoted', 'wazuh-db']"
                )));
            }
        }
    }
    Ok(out)
}

async fn reload(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let warnings = crate::api::reload::reload(&api).await?;
    let mut out = Affected::new(
        "Reload request sent to all specified nodes",
        "Could not send reload request to some specified nodes",
        "Reload request could not be sent to any specified node",
    );
    out.push(json!({"name": api.node_name(), "msg": "Reload request sent", "warnings": warnings}));
    Ok(out)
}

/// `PUT /manager/restart`: answers 202, then the server stops and starts again in place.
async fn restart(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    Params::accept(q.as_deref(), &[])?;
    let Some(restart) = api.services.restart.clone() else {
        return Err(ApiError::internal("this server cannot restart itself"));
    };
    tracing::info!(stage = "api", "Restart requested through the API");
    tokio::spawn(async move {
        // Let the answer leave first.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        restart.notify_one();
    });
    let mut out =
        Affected::new("Restart request sent to all specified nodes", "", "Could not send restart request to any node");
    out.push(Value::from(api.node_name()));
    Ok((StatusCode::ACCEPTED, Json(out.into_json())).into_response())
}

/// `GET /metrics`: Prometheus text.
async fn metrics(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    Params::accept(q.as_deref(), &[])?;
    let mut page = crate::metrics::Exposition::default();
    if let Some(stats) = &api.services.remote_stats {
        stats.expose(&mut page);
    }
    if let Some(cluster) = &api.services.cluster {
        cluster.stats.expose(&mut page);
    }
    if let Some(sink) = &api.services.sink {
        crate::server::state_files::engine_counters(sink, &mut page);
        page.gauge(
            "vigil_engine_events_per_second",
            "Events analysed per second over the last interval.",
            &[],
            api.eps.sample(sink.log.counts().events.load(Ordering::Relaxed)),
        );
    }
    let (counts, synced) = api.store.status_counts()?;
    for (status, n) in crate::store::Status::ALL.iter().zip(counts) {
        page.gauge("vigil_agents", "Agents by connection status.", &[("status", status.as_str())], n as u64);
    }
    page.gauge("vigil_agents_config_synced", "Agents holding their group's current configuration.", &[], synced as u64);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    for (core, load) in crate::metrics::core_loads().into_iter().take(cores).enumerate() {
        page.gauge(
            "vigil_core_busy_percent",
            "Share of time each CPU core was busy since the last scrape.",
            &[("core", &core.to_string())],
            load,
        );
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], page.finish()).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_parse_into_wazuh_entries() {
        let e =
            log_entry("2026/11/28 08:00:48 vigil-api: INFO: API listening address=0.0.0.0:55000").expect("test value");
        assert_eq!(e["timestamp"], "2026-11-28T08:00:48Z");
        assert_eq!(e["tag"], "vigil-api");
        assert_eq!(e["level"], "info");
        assert_eq!(e["description"], "API listening address=0.0.0.0:55000");
        assert!(log_entry("garbage").is_none());
        assert!(log_entry("2026/01/0é 00:00:00 vigil: INFO: forged").is_none(), "no panic inside a character");
        assert!(log_entry("2026/11/28 08:00:48 tag: NOTALEVEL: x").is_none());
    }
}
