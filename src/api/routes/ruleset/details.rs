//! The `details` Wazuh's API shows for a rule or decoder: its attributes, and its elements
//! either as text (repeated ones as lists) or, for pattern options, as
//! `{"pattern": text, <attributes>}` (Wazuh's `add_detail` and `add_dynamic_detail`).

use serde_json::{Map, Value, json};

use crate::xml::Element;

/// Adds a plain element: text, or a list when it repeats.
pub fn add(details: &mut Map<String, Value>, tag: &str, value: Value) {
    match details.get_mut(tag) {
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
        None => {
            details.insert(tag.to_owned(), value);
        }
    }
}

/// Adds a pattern element: repeated ones concatenate their patterns, attributes are kept.
pub fn add_pattern(details: &mut Map<String, Value>, tag: &str, el: &Element) {
    let pattern = match details.get(tag).and_then(|d| d.get("pattern")).and_then(Value::as_str) {
        Some(before) => format!("{before}{}", el.text),
        None => el.text.clone(),
    };
    let mut entry = json!({ "pattern": pattern });
    for attr in &el.attributes {
        entry[attr.name.as_str()] = Value::from(attr.value.as_str());
    }
    details.insert(tag.to_owned(), entry);
}

/// The element's attributes except `skip`, as the start of its details.
pub fn attributes(el: &Element, skip: &[&str]) -> Map<String, Value> {
    el.attributes
        .iter()
        .filter(|a| !skip.contains(&a.name.as_str()))
        .map(|a| (a.name.clone(), Value::from(a.value.as_str())))
        .collect()
}
