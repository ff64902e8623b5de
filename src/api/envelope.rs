//! Wazuh's answer shapes: `AffectedItemsWazuhResult` (`data.affected_items`, totals,
//! `failed_items` grouped by error, `message`, `error` 0/1/2) and the bare `WazuhResult`.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A failure of one item: Wazuh's code, message and remediation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ItemError {
    /// Wazuh's code.
    pub code: u32,
    /// Its message.
    pub message: &'static str,
    /// What to do.
    pub remediation: Option<&'static str>,
}

impl ItemError {
    /// 4000: the caller may not touch this item.
    pub const DENIED: Self = Self {
        code: 4000,
        message: "Permission denied",
        remediation: Some("Please, make sure you have permissions to execute the current request."),
    };
    /// 1701: no such agent.
    pub const NO_AGENT: Self = Self {
        code: 1701,
        message: "Agent does not exist",
        remediation: Some("Please, use `GET /agents?select=id,name` to find all available agents"),
    };
    /// 1710: no such group.
    pub const NO_GROUP: Self = Self {
        code: 1710,
        message: "The group does not exist",
        remediation: Some("Please, use `GET /agents/groups` to find all available groups"),
    };
    /// 1707: the agent is not connected.
    pub const NOT_ACTIVE: Self = Self {
        code: 1707,
        message: "Cannot send request, agent is not active",
        remediation: Some("Please, check non-active agents connection and try again."),
    };
    /// 1703: agent 000 is the manager.
    pub const MANAGER: Self = Self {
        code: 1703,
        message: "Action not available for Manager (agent 000)",
        remediation: Some("Please, use `GET /agents?select=id,name` to find all available agents"),
    };
}

/// An `AffectedItemsWazuhResult` being built.
#[derive(Debug)]
pub struct Affected {
    items: Vec<Value>,
    /// The items already serialized, and how many (the hot list paths serialize theirs straight
    /// into the answer); takes the place of `items` when set.
    rendered: Option<(String, usize)>,
    total: Option<usize>,
    failed: BTreeMap<ItemError, Vec<String>>,
    messages: [String; 3],
    extra: Vec<(&'static str, Value)>,
}

impl Affected {
    /// An empty result with the three messages Wazuh uses: all succeeded, some failed, none
    /// succeeded.
    pub fn new(all: impl Into<String>, some: impl Into<String>, none: impl Into<String>) -> Self {
        Self {
            items: Vec::new(),
            rendered: None,
            total: None,
            failed: BTreeMap::new(),
            messages: [all.into(), some.into(), none.into()],
            extra: Vec::new(),
        }
    }

    /// A list answer: the page, and how many matched in all.
    pub fn page(mut self, items: Vec<Value>, total: usize) -> Self {
        self.items = items;
        self.rendered = None;
        self.total = Some(total);
        self
    }

    /// A list answer whose items are serialized directly, without building values.
    pub fn page_of<T: serde::Serialize>(mut self, items: &[T], total: usize) -> Self {
        let json = serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned());
        self.rendered = Some((json, items.len()));
        self.total = Some(total);
        self
    }

    fn values(&mut self) -> &mut Vec<Value> {
        if let Some((json, _)) = self.rendered.take() {
            self.items = serde_json::from_str(&json).unwrap_or_default();
        }
        &mut self.items
    }

    /// Adds an affected item.
    pub fn push(&mut self, item: Value) {
        self.values().push(item);
    }

    /// Adds affected items.
    pub fn extend(&mut self, items: impl IntoIterator<Item = Value>) {
        self.values().extend(items);
    }

    /// Records a failed item.
    pub fn fail(&mut self, error: ItemError, id: impl Into<String>) {
        self.failed.entry(error).or_default().push(id.into());
    }

    /// Adds a key beside the totals in `data` (e.g. `older_than`).
    pub fn with(mut self, key: &'static str, value: Value) -> Self {
        self.extra.push((key, value));
        self
    }

    /// The answer body as text.
    pub fn render(self) -> String {
        let failed_count: usize = self.failed.values().map(Vec::len).sum();
        let (items, count) = match self.rendered {
            Some(rendered) => rendered,
            None => {
                let count = self.items.len();
                (Value::Array(self.items).to_string(), count)
            }
        };
        let affected = self.total.unwrap_or(count);
        let failed: Vec<Value> = self
            .failed
            .into_iter()
            .map(|(e, mut ids)| {
                ids.sort_by(|a, b| match (a.parse::<u64>(), b.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    _ => a.cmp(b),
                });
                let mut error = json!({"code": e.code, "message": e.message});
                if let Some(r) = e.remediation {
                    error["remediation"] = r.into();
                }
                json!({"error": error, "id": ids})
            })
            .collect();
        let [all, some, none] = self.messages;
        let (message, error) = match (failed_count, affected) {
            (0, _) => (all, 0),
            (_, 0) => (none, 1),
            _ => (some, 2),
        };
        let mut out = String::with_capacity(items.len() + 256);
        out.push_str("{\"data\":{\"affected_items\":");
        out.push_str(&items);
        out.push_str(&format!(
            ",\"total_affected_items\":{affected},\"total_failed_items\":{failed_count},\"failed_items\":{}",
            Value::Array(failed)
        ));
        for (k, v) in self.extra {
            out.push_str(&format!(",{}:{v}", Value::from(k)));
        }
        out.push_str(&format!("}},\"message\":{},\"error\":{error}}}", Value::from(message)));
        out
    }

    /// The answer body.
    pub fn into_json(self) -> Value {
        serde_json::from_str(&self.render()).unwrap_or_default()
    }
}

impl IntoResponse for Affected {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, "application/json")], self.render()).into_response()
    }
}

/// A bare `WazuhResult`: `{data, error: 0}` with an optional message.
pub fn result(data: Value, message: Option<&str>) -> Json<Value> {
    let mut body = json!({"data": data, "error": 0});
    if let Some(m) = message {
        body["message"] = m.into();
    }
    Json(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_grouped_sorted_and_set_the_error_field() {
        let mut r = Affected::new("All done", "Some done", "None done");
        r.push(json!({"id": "001"}));
        r.fail(ItemError::NO_AGENT, "010");
        r.fail(ItemError::NO_AGENT, "9");
        r.fail(ItemError::DENIED, "003");
        let body = r.into_json();
        assert_eq!(body["error"], 2);
        assert_eq!(body["message"], "Some done");
        assert_eq!(body["data"]["total_failed_items"], 3);
        assert_eq!(body["data"]["failed_items"][0]["error"]["code"], 1701);
        assert_eq!(body["data"]["failed_items"][0]["id"], json!(["9", "010"]));
        assert_eq!(body["data"]["failed_items"][1]["error"]["code"], 4000);

        let mut none = Affected::new("a", "s", "n");
        none.fail(ItemError::DENIED, "1");
        assert_eq!((none.into_json()["error"].as_u64(), "n"), (Some(1), "n"));
        let empty = Affected::new("a", "s", "n").into_json();
        assert_eq!((empty["error"].as_u64(), empty["message"].as_str()), (Some(0), Some("a")));
    }

    #[test]
    fn rendered_pages_read_as_value_pages() {
        let items = vec![json!({"id": "001"}), json!({"id": "002"})];
        let a = Affected::new("a", "s", "n").page(items.clone(), 7).with("older_than", json!("7d")).into_json();
        let b = Affected::new("a", "s", "n").page_of(&items, 7).with("older_than", json!("7d")).into_json();
        assert_eq!(a, b);
        assert_eq!(a["data"]["total_affected_items"], 7);
        assert_eq!(a["data"]["older_than"], "7d");
        let mut c = Affected::new("a", "s", "n").page_of(&items, 2);
        c.push(json!({"id": "003"}));
        assert_eq!(c.into_json()["data"]["affected_items"].as_array().map(Vec::len), Some(3));
    }
}
