//! Payload templates for `teams` and `webhook`: JSON text whose `$(field)` placeholders (dotted
//! alert paths) are replaced by the field's text, escaped for a JSON string. Placeholders belong
//! inside JSON strings; there, an alert's quotes, newlines or braces can never change the
//! payload's structure. A placeholder for a missing field becomes empty.

use crate::output::alert::Alert;

/// `text` with every `$(path)` filled from `alert`.
pub fn render(text: &str, alert: &Alert) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut rest = text;
    while let Some(start) = rest.find("$(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find(')') {
            Some(end) if is_path(&after[..end]) => {
                let value = alert.text(&after[..end]).unwrap_or_default();
                let quoted = serde_json::Value::String(value).to_string();
                out.push_str(&quoted[1..quoted.len() - 1]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("$(");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_path(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b))
}

/// A template that renders valid JSON for any alert (checked with an alert whose every field
/// is missing), or why not.
pub fn check(text: &str) -> Result<(), String> {
    let empty = Alert::parse(br#"{"rule":{}}"#).ok_or("internal: empty alert")?;
    serde_json::from_str::<serde_json::Value>(&render(text, &empty))
        .map(|_| ())
        .map_err(|e| format!("the template is not JSON once filled: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_escaped() {
        let alert = Alert::parse(
            br#"{"rule":{"level":12,"description":"a \"quoted\"\nline } { $(x)"},"agent":{"name":"web"}}"#,
        )
        .expect("alert");
        let text = r#"{"text": "$(rule.description) on $(agent.name) at $(rule.level) $(missing) $(not a path) $("}"#;
        let out = render(text, &alert);
        let parsed: serde_json::Value = serde_json::from_str(&out).expect("still JSON");
        assert_eq!(parsed["text"], "a \"quoted\"\nline } { $(x) on web at 12  $(not a path) $(");
        assert!(check(text).is_ok());
        assert!(check(r#"{"n": $(rule.level)}"#).is_err(), "an unquoted placeholder can break the JSON");
    }

    proptest::proptest! {
        /// Whatever an alert's fields hold, placeholders inside strings keep the payload JSON
        /// and give back the field exactly.
        #[test]
        fn hostile_fields_never_break_the_payload(text in "\\PC*", log in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let log = String::from_utf8_lossy(&log).into_owned();
            let alert = serde_json::json!({"rule": {"description": text}, "full_log": log});
            let alert = Alert::parse(alert.to_string().as_bytes()).expect("alert");
            let out = render(r#"{"a": "$(rule.description)", "b": "x $(full_log) y"}"#, &alert);
            let parsed: serde_json::Value = serde_json::from_str(&out).expect("JSON");
            proptest::prop_assert_eq!(parsed["a"].as_str(), Some(text.as_str()));
            let expected = format!("x {log} y");
            proptest::prop_assert_eq!(parsed["b"].as_str(), Some(expected.as_str()));
        }
    }
}
