//! `JSON_Decoder`: every key of a JSON object becomes a field (engine.md §3.4).
//!
//! Nested keys join with `.`; only exact top-level keys map to static fields (`systemname` to
//! `system_name`; `user` to `dstuser` while that is unset); numbers print as Wazuh prints them;
//! arrays print as cJSON does, or join as CSV with `<json_array_structure>csv`.

use std::sync::Arc;

use super::cjson::{self, Json};
use crate::engine::event::Event;
use crate::ruleset::decoder::{Decoder, JsonArray, JsonNull, StaticField};

/// Longest CSV value Wazuh builds (`OS_MAXSTR`).
const MAX_CSV: usize = 65536;

/// Decodes `input` into `event` with `decoder`'s JSON options.
pub fn decode(input: &str, decoder: &Decoder, event: &mut Event) {
    let Some(Json::Object(members)) = cjson::parse(input) else {
        return;
    };
    let mut key = String::new();
    read_object(members, &mut key, decoder, event);
}

/// Emits the fields of an object; `key` holds the dotted path of the object (empty at the top)
/// and is restored on return.
fn read_object(
    members: Vec<(std::borrow::Cow<'_, str>, Json<'_>)>,
    key: &mut String,
    decoder: &Decoder,
    event: &mut Event,
) {
    let prefix = key.len();
    for (name, value) in members {
        key.truncate(prefix);
        if prefix > 0 {
            key.push('.');
        }
        key.push_str(&name);
        let text = match value {
            Json::String(s) => s.into_owned(),
            Json::Number(d) => cjson::number_field(d),
            Json::True => "true".into(),
            Json::False => "false".into(),
            Json::Null if decoder.json_null == JsonNull::String => "null".into(),
            Json::Null => continue,
            Json::Object(inner) => {
                read_object(inner, key, decoder, event);
                continue;
            }
            Json::Array(items) => {
                let text = match decoder.json_array {
                    JsonArray::Array => cjson::print(&Json::Array(items)),
                    JsonArray::Csv => csv(&items),
                };
                if text.is_empty() {
                    continue;
                }
                text
            }
        };
        fill(event, key, text);
    }
    key.truncate(prefix);
}

/// Scalars joined with `,` (nested arrays and objects skipped); empty if it would be too long.
fn csv(items: &[Json<'_>]) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        let text = match item {
            Json::String(s) => s.to_string(),
            Json::Number(d) => cjson::number_field(*d),
            Json::Null => "null".into(),
            Json::True => "true".into(),
            Json::False => "false".into(),
            Json::Array(_) | Json::Object(_) => continue,
        };
        if out.len() + text.len() >= MAX_CSV || out.len() + text.len() + 1 >= MAX_CSV {
            return String::new();
        }
        out.push_str(&text);
        if i + 1 < items.len() {
            out.push(',');
        }
    }
    out
}

/// Wazuh's `fillData`: exact top-level names go to static fields.
fn fill(event: &mut Event, key: &str, value: String) {
    let field = match key {
        "srcip" => StaticField::SrcIp,
        "dstip" => StaticField::DstIp,
        "dstport" => StaticField::DstPort,
        "srcport" => StaticField::SrcPort,
        "protocol" => StaticField::Protocol,
        "action" => StaticField::Action,
        "srcuser" => StaticField::SrcUser,
        "dstuser" => StaticField::DstUser,
        "user" if event.get(StaticField::DstUser).is_none_or(str::is_empty) => StaticField::DstUser,
        "id" => StaticField::Id,
        "status" => StaticField::Status,
        "url" => StaticField::Url,
        "data" => StaticField::Data,
        "extra_data" => StaticField::ExtraData,
        "systemname" => StaticField::SystemName,
        _ => {
            if !event.push_dynamic(Arc::from(key), value) {
                tracing::warn!(key, "Too many fields for JSON decoder.");
            }
            return;
        }
    };
    event.set(field, value);
}
