//! CIS-CAT results (queue `e`, ciscat.c): the JSON is flattened into fields for rules 87401+,
//! and each scan's summary (`scan_info`) replaces the agent's `ciscat_results`.

use serde_json::Value;

use super::json::{self, get, str_of};
use super::{Context, Handled, ModuleError};
use crate::engine::plugins::cjson::Json;
use crate::engine::predecode::Predecoded;
use crate::ruleset::decoder::Builtin;
use crate::store::state::{Owner, Row, Table};

const MODULE: &str = "ciscat";

/// Decodes one queue `e` message.
pub fn decode(ctx: &mut Context<'_, '_>, owner: Owner, pre: Predecoded) -> Result<Handled, ModuleError> {
    let location = super::module_location(&pre);
    if location != "wodle_cis-cat" {
        return Err(ModuleError::invalid(MODULE, format!("invalid location '{location}'")));
    }
    let root = json::parse(MODULE, &pre.log)?;
    let kind = str_of(&root, "type").ok_or_else(|| ModuleError::invalid(MODULE, "no message type"))?;
    if kind == "scan_info" {
        let cis = get(&root, "cis").filter(|c| matches!(c, Json::Object(_)));
        let cis = cis.ok_or_else(|| ModuleError::invalid(MODULE, "scan_info without a 'cis' object"))?;
        let mut row = Row::new();
        if let Some(Json::Number(id)) = get(&root, "scan_id") {
            row.insert("scan_id".into(), Value::from(*id as i64));
        }
        for key in ["timestamp", "benchmark", "profile"] {
            if let Some(v) = str_of(cis, key) {
                row.insert(if key == "timestamp" { "scan_time".into() } else { key.into() }, Value::from(v));
            }
        }
        for key in ["pass", "fail", "error", "notchecked", "unknown"] {
            if let Some(Json::Number(n)) = get(cis, key) {
                row.insert(key.into(), Value::from(*n as i64));
            }
        }
        if let Some(score) = str_of(cis, "score") {
            let digits: String = score.trim_start().chars().take_while(char::is_ascii_digit).collect();
            row.insert("score".into(), Value::from(digits.parse::<u64>().unwrap_or(0)));
        }
        // Only the latest scan is kept, as wazuh-db deletes the older ones.
        ctx.state.clear(owner, Table::Ciscat)?;
        ctx.state.put(owner, Table::Ciscat, "last", &row)?;
    }
    let mut fields = Vec::new();
    flatten(&root, "", &mut fields);
    drop(root);
    let mut event = ctx.event(pre, Builtin::Ciscat);
    for (key, value) in fields {
        event.push_dynamic(key.into(), value);
    }
    Ok(Handled::Event(Box::new(event)))
}

/// The JSON's leaves as dotted fields, as the JSON decoder flattens it for CIS-CAT: arrays and
/// nulls are left out.
fn flatten(json: &Json<'_>, prefix: &str, out: &mut Vec<(String, String)>) {
    match json {
        Json::Object(members) => {
            for (key, value) in members {
                let name = if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
                flatten(value, &name, out);
            }
        }
        Json::String(s) => out.push((prefix.to_owned(), s.to_string())),
        Json::Number(n) => out.push((prefix.to_owned(), crate::engine::plugins::cjson::number_field(*n))),
        Json::True => out.push((prefix.to_owned(), "true".into())),
        Json::False => out.push((prefix.to_owned(), "false".into())),
        Json::Null | Json::Array(_) => {}
    }
}
