//! Security configuration assessment (queue `p`, security_configuration_assessment.c): checks,
//! scan summaries, the list of enabled policies and the end of a dump. Checks are kept per
//! policy; a check whose result changed (or that is new) and a summary whose hash changed go to
//! rules 19000–19015. When the stored results no longer hash to what the agent reports, the
//! agent is asked for a full dump (`#!-sca-dump:<policy>:<first scan>`).

use ring::digest::{SHA256, digest};
use serde_json::Value;

use super::json::{self, get, members, num_of, str_of};
use super::{Context, Handled, ModuleError, Reply};
use crate::engine::event::Event;
use crate::engine::plugins::cjson::{self, Json};
use crate::engine::predecode::Predecoded;
use crate::ruleset::decoder::Builtin;
use crate::store::state::{Owner, Row, Table};

const MODULE: &str = "sca";

fn malformed(reason: &str) -> ModuleError {
    ModuleError::invalid(MODULE, format!("Malformed JSON: {reason}"))
}

/// Field text of a number: `%d` when integral, else `%f`.
fn number(n: f64) -> String {
    cjson::number_field(n)
}

/// Text of a hash: a string, or (from simulators that send numbers) the number's text.
fn hash_text(json: &Json<'_>, key: &str) -> Option<String> {
    match get(json, key)? {
        Json::String(s) => Some(s.to_string()),
        Json::Number(n) => Some(format!("{n}")),
        _ => None,
    }
}

/// The key of a check row: `<policy id> <check id>`, zero-padded so checks sort by id.
fn check_key(policy: &str, id: i64) -> String {
    format!("{policy} {id:012}")
}

fn request_dump(ctx: &mut Context<'_, '_>, owner: Owner, policy: &str, first_scan: bool) {
    let text = format!("sca-dump:{policy}:{}", u8::from(first_scan));
    ctx.effects.replies.push(Reply { to: owner, text });
}

/// A policy's stored checks with their keys, by check id (every key `<policy> …` sorts between
/// `<policy> ` and `<policy>!`).
fn policy_checks(ctx: &Context<'_, '_>, owner: Owner, policy: &str) -> Result<Vec<(String, Row)>, ModuleError> {
    Ok(ctx.state.range(owner, Table::ScaCheck, &format!("{policy} "), &format!("{policy}!"))?)
}

/// SHA-256 of the policy's stored results joined by `:` (`not applicable` counted as empty),
/// as agents compute it; `None` without checks.
fn results_hash(ctx: &Context<'_, '_>, owner: Owner, policy: &str) -> Result<Option<String>, ModuleError> {
    let rows = policy_checks(ctx, owner, policy)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let joined: Vec<&str> = rows.iter().filter_map(|(_, r)| r.get("result").and_then(Value::as_str)).collect();
    let text = joined.join(":").replace("not applicable", "");
    Ok(Some(crate::hex::encode(digest(&SHA256, text.as_bytes()).as_ref())))
}

/// Deletes a policy's checks.
fn delete_checks(
    ctx: &mut Context<'_, '_>,
    owner: Owner,
    policy: &str,
    keep_scan: Option<i64>,
) -> Result<(), ModuleError> {
    for (key, row) in policy_checks(ctx, owner, policy)? {
        if keep_scan.is_none_or(|s| row.get("scan_id").and_then(Value::as_i64) != Some(s)) {
            ctx.state.delete(owner, Table::ScaCheck, &key)?;
        }
    }
    Ok(())
}

/// The optional string members of a check, in the order they are stored.
const CHECK_TEXT: [&str; 11] = [
    "description",
    "rationale",
    "remediation",
    "references",
    "file",
    "condition",
    "directory",
    "process",
    "registry",
    "command",
    "reason",
];

fn check(ctx: &mut Context<'_, '_>, owner: Owner, root: &Json<'_>, event: &mut Event) -> Result<(), ModuleError> {
    let scan_id = num_of(root, "id").ok_or_else(|| malformed("field 'id' not found"))?;
    let policy = str_of(root, "policy").ok_or_else(|| malformed("field 'policy' not found"))?;
    let policy_id = str_of(root, "policy_id").ok_or_else(|| malformed("field 'policy_id' not found"))?;
    let c = get(root, "check").ok_or_else(|| malformed("field 'check' not found"))?;
    let id = num_of(c, "id").ok_or_else(|| malformed("check field 'id' not found"))?;
    let title = str_of(c, "title").ok_or_else(|| malformed("check field 'title' not found"))?;
    for key in CHECK_TEXT {
        if get(c, key).is_some() && str_of(c, key).is_none() {
            return Err(malformed(&format!("check field '{key}' must be a string")));
        }
    }
    let result = match get(c, "result") {
        None => "not applicable",
        Some(Json::String(s)) => s,
        Some(_) => return Err(malformed("check field 'result' must be a string")),
    };
    let key = check_key(policy_id, cjson::value_int(id));
    let stored = ctx.state.get(owner, Table::ScaCheck, &key)?;
    let previous = stored.as_ref().map(|r| r.get("result").and_then(Value::as_str).unwrap_or("(null)").to_owned());
    let mut row: Row = stored.unwrap_or_default();
    if previous.is_none() {
        row.insert("id".into(), Value::from(cjson::value_int(id)));
        row.insert("policy_id".into(), Value::from(policy_id));
        row.insert("title".into(), Value::from(title));
        for k in CHECK_TEXT.iter().filter(|k| **k != "reason") {
            if let Some(v) = str_of(c, k) {
                row.insert((*k).into(), Value::from(v));
            }
        }
        let compliance: Vec<Value> = members(get(c, "compliance").unwrap_or(&Json::Null))
            .iter()
            .filter_map(|(k, v)| json::text(v).map(|v| serde_json::json!({"key": k, "value": v})))
            .collect();
        row.insert("compliance".into(), Value::Array(compliance));
        let rules: Vec<Value> = match get(c, "rules") {
            Some(Json::Array(items)) => items
                .iter()
                .filter_map(|r| match r {
                    Json::String(s) => Some(s.as_ref()),
                    _ => None,
                })
                .filter_map(|r| {
                    let kind = match r.as_bytes().first()? {
                        b'f' => "file",
                        b'd' => "directory",
                        b'r' => "registry",
                        b'c' => "command",
                        b'p' => "process",
                        b'n' => "numeric",
                        _ => return None,
                    };
                    Some(serde_json::json!({"type": kind, "rule": r}))
                })
                .collect(),
            _ => Vec::new(),
        };
        row.insert("rules".into(), Value::Array(rules));
    }
    row.insert("scan_id".into(), Value::from(cjson::value_int(scan_id)));
    row.insert("result".into(), Value::from(result));
    row.insert("reason".into(), Value::from(str_of(c, "reason").unwrap_or_default()));
    ctx.state.put(owner, Table::ScaCheck, &key, &row)?;
    if previous.as_deref() == Some(result) || (previous.is_none() && result.is_empty()) {
        return Ok(());
    }
    let mut field = |k: &str, v: String| {
        event.push_dynamic(k.into(), v);
    };
    field("sca.type", "check".into());
    let scan = cjson::value_int(scan_id);
    field("sca.scan_id", if scan >= 0 { scan.to_string() } else { format!("{scan_id:.6}") });
    field("sca.policy", policy.into());
    field("sca.check.id", number(id));
    field("sca.check.title", title.into());
    for k in ["description", "rationale", "remediation"] {
        if let Some(v) = str_of(c, k) {
            field(&format!("sca.check.{k}"), v.into());
        }
    }
    for (k, v) in members(get(c, "compliance").unwrap_or(&Json::Null)) {
        if let Some(v) = json::text(v) {
            field(&format!("sca.check.compliance.{k}"), v);
        }
    }
    if let Some(v) = str_of(c, "references") {
        field("sca.check.references", v.into());
    }
    for k in ["file", "directory", "registry", "process", "command"] {
        if let Some(v) = str_of(c, k) {
            let parts: Vec<Json<'_>> = v.split(',').filter(|p| !p.is_empty()).map(|p| Json::String(p.into())).collect();
            field(&format!("sca.check.{k}"), cjson::print(&Json::Array(parts)));
        }
    }
    field("sca.check.result", result.into());
    if let Some(v) = str_of(c, "reason") {
        field("sca.check.reason", v.into());
    }
    if let Some(previous) = previous {
        field("sca.check.previous_result", previous);
    }
    Ok(())
}

fn summary(ctx: &mut Context<'_, '_>, owner: Owner, root: &Json<'_>, event: &mut Event) -> Result<(), ModuleError> {
    let Some(policy_json) = get(root, "policy_id") else { return Ok(()) };
    let policy_id = match policy_json {
        Json::String(s) => s.to_string(),
        _ => return Err(malformed("field 'policy_id' must be a string")),
    };
    let Some(scan) = get(root, "scan_id") else { return Ok(()) };
    let scan_id = match scan {
        Json::Number(n) if cjson::value_int(*n) >= 0 => cjson::value_int(*n),
        Json::Number(_) => return Err(malformed("field 'scan_id' cannot be negative")),
        _ => return Err(malformed("field 'scan_id' must be a number")),
    };
    let counts = ["start_time", "end_time", "passed", "failed", "invalid", "total_checks", "score"];
    if let Some(missing) = counts.iter().find(|k| get(root, k).is_none()) {
        return Err(malformed(&format!("field '{missing}' not found")));
    }
    let hash = hash_text(root, "hash").ok_or_else(|| malformed("field 'hash' must be a string"))?;
    let hash_file = hash_text(root, "hash_file").ok_or_else(|| malformed("field 'hash_file' must be a string"))?;
    let file = str_of(root, "file").ok_or_else(|| malformed("field 'file' must be a string"))?;
    let name = str_of(root, "name").ok_or_else(|| malformed("field 'policy' must be a string"))?;
    let first_scan = get(root, "first_scan").is_some();
    let force = get(root, "force_alert").is_some();
    let int = |k: &str| num_of(root, k).map_or(0, cjson::value_int);

    let stored = ctx.state.get(owner, Table::ScaScan, &policy_id)?;
    let old_hash = stored.as_ref().and_then(|r| r.get("hash").and_then(Value::as_str)).unwrap_or_default().to_owned();
    let mut scan_row = Row::new();
    for (column, member) in [
        ("start_scan", "start_time"),
        ("end_scan", "end_time"),
        ("pass", "passed"),
        ("fail", "failed"),
        ("invalid", "invalid"),
        ("total_checks", "total_checks"),
        ("score", "score"),
    ] {
        scan_row.insert(column.into(), Value::from(int(member)));
    }
    scan_row.insert("id".into(), Value::from(scan_id));
    scan_row.insert("policy_id".into(), Value::from(policy_id.as_str()));
    scan_row.insert("hash".into(), Value::from(hash.as_str()));
    ctx.state.put(owner, Table::ScaScan, &policy_id, &scan_row)?;
    let mut alert = force;
    if old_hash != hash {
        if first_scan {
            if stored.is_none() {
                request_dump(ctx, owner, &policy_id, true);
            }
        } else {
            alert = true;
        }
    }

    match ctx.state.get(owner, Table::ScaPolicy, &policy_id)? {
        None => {
            let mut policy = Row::new();
            policy.insert("name".into(), Value::from(name));
            policy.insert("file".into(), Value::from(file));
            policy.insert("id".into(), Value::from(policy_id.as_str()));
            for k in ["description", "references"] {
                match get(root, k) {
                    Some(Json::String(s)) => {
                        policy.insert(k.into(), Value::from(s.as_ref()));
                    }
                    Some(_) => return Err(malformed(&format!("field '{k}' must be a string"))),
                    None => {}
                }
            }
            policy.insert("hash_file".into(), Value::from(hash_file.as_str()));
            ctx.state.put(owner, Table::ScaPolicy, &policy_id, &policy)?;
        }
        Some(policy) if policy.get("hash_file").and_then(Value::as_str) != Some(hash_file.as_str()) => {
            // The policy file changed: what is stored of it is stale.
            ctx.state.delete(owner, Table::ScaPolicy, &policy_id)?;
            ctx.state.delete(owner, Table::ScaScan, &policy_id)?;
            delete_checks(ctx, owner, &policy_id, None)?;
            request_dump(ctx, owner, &policy_id, true);
            tracing::info!(agent = %owner, policy = %policy_id, "SCA policy information is outdated; latest scan results requested");
        }
        Some(_) => {}
    }
    if results_hash(ctx, owner, &policy_id)?.as_deref() != Some(hash.as_str()) {
        request_dump(ctx, owner, &policy_id, first_scan);
    }
    if alert {
        fill_summary(root, name, &policy_id, file, event);
    }
    Ok(())
}

fn fill_summary(root: &Json<'_>, name: &str, policy_id: &str, file: &str, event: &mut Event) {
    let mut field = |k: &str, v: String| {
        event.push_dynamic(k.into(), v);
    };
    field("sca.type", "summary".into());
    if let Some(id) = num_of(root, "scan_id") {
        field("sca.scan_id", number(id));
    }
    field("sca.policy", name.into());
    if let Some(d) = str_of(root, "description") {
        field("sca.description", d.into());
    }
    field("sca.policy_id", policy_id.into());
    for k in ["passed", "failed", "invalid", "total_checks", "score"] {
        let n = num_of(root, k).unwrap_or(0.0);
        let int = cjson::value_int(n);
        let text = if int >= 0 {
            int.to_string()
        } else if n >= 0.0 {
            format!("{n:.6}")
        } else {
            return;
        };
        field(&format!("sca.{k}"), text);
    }
    field("sca.file", file.into());
}

fn policies(ctx: &mut Context<'_, '_>, owner: Owner, root: &Json<'_>) -> Result<(), ModuleError> {
    let listed = get(root, "policies").ok_or_else(|| malformed("field 'policies' not found"))?;
    let enabled: Vec<&str> = match listed {
        Json::Array(items) => items
            .iter()
            .filter_map(|i| match i {
                Json::String(s) => Some(s.as_ref()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    for row in ctx.state.rows(owner, Table::ScaPolicy)? {
        let Some(id) = row.get("id").and_then(Value::as_str) else { continue };
        if !enabled.contains(&id) {
            ctx.state.delete(owner, Table::ScaPolicy, id)?;
            ctx.state.delete(owner, Table::ScaScan, id)?;
            delete_checks(ctx, owner, id, None)?;
        }
    }
    Ok(())
}

fn dump_end(ctx: &mut Context<'_, '_>, owner: Owner, root: &Json<'_>) -> Result<(), ModuleError> {
    get(root, "elements_sent").ok_or_else(|| malformed("field 'elements_sent' not found"))?;
    let policy = str_of(root, "policy_id").ok_or_else(|| malformed("field 'policy_id' must be a string"))?;
    let scan = num_of(root, "scan_id").ok_or_else(|| malformed("field 'scan_id' not found"))?;
    delete_checks(ctx, owner, policy, Some(cjson::value_int(scan)))?;
    let stored = ctx.state.get(owner, Table::ScaScan, policy)?;
    let stored_hash = stored.as_ref().and_then(|r| r.get("hash").and_then(Value::as_str)).map(str::to_owned);
    if let (Some(results), Some(stored_hash)) = (results_hash(ctx, owner, policy)?, stored_hash)
        && results != stored_hash
    {
        request_dump(ctx, owner, policy, false);
    }
    Ok(())
}

/// Decodes one queue `p` message.
pub fn decode(ctx: &mut Context<'_, '_>, owner: Owner, pre: Predecoded) -> Result<Handled, ModuleError> {
    let log = pre.log.clone();
    let mut event = ctx.event(pre, Builtin::Sca);
    let root = json::parse(MODULE, &log)?;
    let kind = str_of(&root, "type").ok_or_else(|| ModuleError::invalid(MODULE, "no message type"))?;
    match kind {
        "check" => check(ctx, owner, &root, &mut event)?,
        "summary" => summary(ctx, owner, &root, &mut event)?,
        "policies" => policies(ctx, owner, &root)?,
        "dump_end" => dump_end(ctx, owner, &root)?,
        _ => {}
    }
    Ok(Handled::Event(Box::new(event)))
}
