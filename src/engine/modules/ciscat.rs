//! CIS-CAT results (queue `e`, ciscat.c): the JSON is flattened into fields for rules 87401+,
//! and each scan's summary (`scan_info`) replaces the agent's `ciscat_results`.

use serde_json::Value;

use super::json::{self, get, str_of};
use super::{Context, Handled, ModuleError};
use crate::engine::plugins::{self, cjson::Json};
use crate::engine::predecode::Predecoded;
use crate::ruleset::decoder::{Builtin, Plugin};
use crate::store::state::{Owner, Row, Table};

const MODULE: &str = "ciscat";

/// Decodes one queue `e` message.
pub fn decode(ctx: &mut Context<'_, '_>, owner: Owner, pre: Predecoded) -> Result<Handled, ModuleError> {
    let location = match pre.location.strip_prefix('(') {
        Some(_) => pre.location.split_once('>').map_or("", |(_, l)| l),
        None => pre.location.as_str(),
    };
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
    drop(root);
    let log = pre.log.clone();
    let mut event = ctx.event(pre, Builtin::Ciscat);
    if let Some(decoder) = event.decoder.map(|id| ctx.decoders.get(id)) {
        plugins::run(Plugin::Json, Some(&log), &log, decoder, &mut event, &|_| false);
    }
    Ok(Handled::Event(Box::new(event)))
}
