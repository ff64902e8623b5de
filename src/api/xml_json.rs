//! Wazuh XML as JSON, the way Wazuh's API shows parsed files (xmltodict's convention):
//! attributes as `@name`, text as a string (or `#text` beside attributes or children), repeated
//! children as arrays.

use serde_json::{Map, Value};

use crate::xml::{Document, Element};

/// Every root element of `doc`, grouped by name.
pub fn document(doc: &Document) -> Value {
    group(doc.roots())
}

fn group<'a>(elements: impl Iterator<Item = &'a Element>) -> Value {
    let mut map = Map::new();
    for el in elements {
        let value = element(el);
        match map.get_mut(&el.name) {
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None => {
                map.insert(el.name.clone(), value);
            }
        }
    }
    Value::Object(map)
}

/// One element.
pub fn element(el: &Element) -> Value {
    let text = el.text.trim();
    let has_children = el.children().next().is_some();
    if el.attributes.is_empty() && !has_children {
        return if text.is_empty() { Value::Null } else { Value::from(text) };
    }
    let mut map = Map::new();
    for attr in &el.attributes {
        map.insert(format!("@{}", attr.name), Value::from(attr.value.as_str()));
    }
    if let Value::Object(children) = group(el.children()) {
        map.extend(children);
    }
    if !text.is_empty() {
        map.insert("#text".into(), Value::from(text));
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn attributes_text_and_repeated_children() {
        let doc = Document::parse(
            r#"<group name="sshd,"><rule id="5700" level="0"><match>a</match><match>b</match><options>no_log</options></rule></group>"#,
        )
        .expect("test value");
        assert_eq!(
            document(&doc),
            json!({"group": {"@name": "sshd,", "rule": {"@id": "5700", "@level": "0", "match": ["a", "b"], "options": "no_log"}}})
        );
    }
}
