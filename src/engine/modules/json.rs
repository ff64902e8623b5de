//! Reading module JSON as analysisd's cJSON does (case-insensitive member lookup, first match
//! wins, doubles for numbers), with limits on what hostile input may hold.

use std::borrow::Cow;

use serde_json::Value;

use super::ModuleError;
use crate::engine::plugins::cjson::{self, Json};

/// Deepest nesting accepted in a module message.
const MAX_DEPTH: usize = 32;
/// Most elements (array items and object members, all levels) in one message.
const MAX_NODES: usize = 20_000;

/// Parses `text` (trailing text ignored, as cJSON) and checks it against the limits. JSON that
/// cJSON cannot read only because a number is longer than its 63-character buffer (agent
/// simulators send 77-digit hashes as numbers) is read by serde_json instead, members in
/// key order.
pub fn parse<'t>(module: &'static str, text: &'t str) -> Result<Json<'t>, ModuleError> {
    let json = cjson::parse(text)
        .or_else(|| serde_json::from_str::<Value>(text).ok().map(|v| from_value(&v)))
        .ok_or_else(|| ModuleError::Json { module, reason: "cannot parse".into() })?;
    let mut nodes = 0;
    if !within(&json, 0, &mut nodes) {
        let reason = format!("nested deeper than {MAX_DEPTH} or larger than {MAX_NODES} elements");
        return Err(ModuleError::Json { module, reason });
    }
    Ok(json)
}

fn within(json: &Json<'_>, depth: usize, nodes: &mut usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let children: Box<dyn Iterator<Item = &Json<'_>>> = match json {
        Json::Array(items) => Box::new(items.iter()),
        Json::Object(members) => Box::new(members.iter().map(|(_, v)| v)),
        _ => return true,
    };
    for child in children {
        *nodes += 1;
        if *nodes > MAX_NODES || !within(child, depth + 1, nodes) {
            return false;
        }
    }
    true
}

/// A `serde_json` value as a cJSON one.
fn from_value(v: &Value) -> Json<'static> {
    match v {
        Value::Null => Json::Null,
        Value::Bool(false) => Json::False,
        Value::Bool(true) => Json::True,
        Value::Number(n) => Json::Number(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => Json::String(Cow::Owned(s.clone())),
        Value::Array(items) => Json::Array(items.iter().map(from_value).collect()),
        Value::Object(m) => Json::Object(m.iter().map(|(k, v)| (Cow::Owned(k.clone()), from_value(v))).collect()),
    }
}

/// `cJSON_GetObjectItem`: the first member named `key`, ignoring ASCII case.
pub fn get<'j, 't>(json: &'j Json<'t>, key: &str) -> Option<&'j Json<'t>> {
    match json {
        Json::Object(members) => members.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v),
        _ => None,
    }
}

/// A string member.
pub fn str_of<'j>(json: &'j Json<'_>, key: &str) -> Option<&'j str> {
    match get(json, key) {
        Some(Json::String(s)) => Some(s),
        _ => None,
    }
}

/// A number member.
pub fn num_of(json: &Json<'_>, key: &str) -> Option<f64> {
    match get(json, key) {
        Some(Json::Number(n)) => Some(*n),
        _ => None,
    }
}

/// The members of an object, in order (empty for anything else).
pub fn members<'j, 't>(json: &'j Json<'t>) -> &'j [(Cow<'t, str>, Json<'t>)] {
    match json {
        Json::Object(members) => members,
        _ => &[],
    }
}

/// Compact JSON text.
pub fn compact(json: &Json<'_>) -> String {
    let mut out = String::new();
    cjson::print_compact(json, &mut out);
    out
}

/// The value as a `serde_json` value, for storing (duplicate keys: the last wins).
pub fn to_value(json: &Json<'_>) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::False => Value::Bool(false),
        Json::True => Value::Bool(true),
        Json::Number(n) => {
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                Value::from(*n as i64)
            } else {
                serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number)
            }
        }
        Json::String(s) => Value::String(s.to_string()),
        Json::Array(items) => Value::Array(items.iter().map(to_value).collect()),
        Json::Object(members) => Value::Object(members.iter().map(|(k, v)| (k.to_string(), to_value(v))).collect()),
    }
}

/// Scalar text as Wazuh's decoders print fields: strings as they are, numbers with `%d`/`%f`.
pub fn text(json: &Json<'_>) -> Option<String> {
    match json {
        Json::String(s) => Some(s.to_string()),
        Json::Number(n) => Some(cjson::number_field(*n)),
        _ => None,
    }
}
