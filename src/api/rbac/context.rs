//! Security rules: matchers run against a run_as login's authorization context (Wazuh's
//! `rbac/auth_context.py`). `AND`, `OR`, `NOT` combine; `MATCH` wants the rule's keys and values
//! at the top of the context, `FIND` anywhere up to [`MAX_DEPTH`] levels down; the `$` forms want
//! lists to be equal rather than contained. A string `r'…'` is a regular expression matched at the
//! start of the value (or key).

use serde_json::Value;

/// How deep `FIND` looks.
pub const MAX_DEPTH: usize = 8;

/// Whether `rule` matches `context`.
pub fn matches(rule: &Value, context: &Value) -> bool {
    check(rule, context)
}

fn check(rule: &Value, context: &Value) -> bool {
    let Value::Object(rule) = rule else { return false };
    rule.iter().any(|(key, value)| match key.as_str() {
        "AND" | "OR" | "NOT" => {
            let results: Vec<bool> = match value {
                Value::Array(items) => items.iter().map(|r| check(r, context)).collect(),
                Value::Object(_) => vec![check(value, context)],
                _ => return false,
            };
            let hits = results.iter().filter(|&&r| r).count();
            match key.as_str() {
                "AND" => hits == results.len(),
                "OR" => hits > 0,
                _ => hits != results.len(),
            }
        }
        "MATCH" => match_item(value, context, false),
        "MATCH$" => match_item(value, context, true),
        "FIND" => find(value, context, false, 0),
        "FIND$" => find(value, context, true, 0),
        _ => false,
    })
}

/// The regular expression of an `r'…'` string.
fn regex_of(s: &str) -> Option<pcre2::bytes::Regex> {
    let inner = s.strip_prefix("r'")?.strip_suffix('\'')?;
    pcre2::bytes::RegexBuilder::new().build(&format!(r"\A(?:{inner})")).ok()
}

fn match_item(rule: &Value, context: &Value, exact: bool) -> bool {
    if let (Value::Object(rule), Value::Object(ctx)) = (rule, context) {
        return rule.iter().all(|(key, value)| {
            let by_regex = regex_of(key).is_some_and(|re| {
                ctx.iter().any(|(k, v)| re.is_match(k.as_bytes()).unwrap_or(false) && match_item(value, v, exact))
            });
            by_regex || ctx.get(key).is_some_and(|v| match_item(value, v, exact))
        });
    }
    if rule.is_object() {
        return false;
    }
    let ctx_list: Vec<&Value> = match context {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    if let Some(re) = rule.as_str().and_then(regex_of) {
        return ctx_list.iter().any(|v| v.as_str().is_some_and(|s| re.is_match(s.as_bytes()).unwrap_or(false)));
    }
    if rule == context {
        return true;
    }
    let rule_list: Vec<&Value> = match rule {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let contained = rule_list.iter().all(|r| ctx_list.contains(r));
    if exact { contained && rule_list.len() == ctx_list.len() } else { contained }
}

fn find(rule: &Value, context: &Value, exact: bool, depth: usize) -> bool {
    if depth >= MAX_DEPTH {
        return false;
    }
    if match_item(rule, context, exact) {
        return true;
    }
    let Value::Object(ctx) = context else { return false };
    ctx.values().any(|value| {
        match_item(rule, value, exact)
            || match value {
                Value::Object(_) => find(rule, value, exact, depth + 1),
                Value::Array(items) => items.iter().any(|v| v.is_object() && find(rule, v, exact, depth + 1)),
                _ => false,
            }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn wazuh_default_rules_match_the_dashboards_contexts() {
        let opensearch = json!({"FIND": {"user_name": "admin"}});
        assert!(matches(&opensearch, &json!({"user_name": "admin", "roles": ["all_access"]})));
        assert!(matches(&opensearch, &json!({"user": {"user_name": "admin"}})));
        assert!(!matches(&opensearch, &json!({"user_name": "bob"})));
        assert!(!matches(&json!({"MATCH": {"user_name": "admin"}}), &json!({"user": {"user_name": "admin"}})));
    }

    #[test]
    fn logic_lists_and_regexes() {
        let ctx = json!({"name": "alice", "groups": ["ops", "dev"], "office": "Madrid"});
        assert!(matches(&json!({"MATCH": {"groups": ["ops"]}}), &ctx));
        assert!(!matches(&json!({"MATCH$": {"groups": ["ops"]}}), &ctx));
        assert!(matches(&json!({"MATCH$": {"groups": ["dev", "ops"]}}), &ctx));
        assert!(matches(&json!({"MATCH": {"office": "r'Mad.*'"}}), &ctx));
        assert!(!matches(&json!({"MATCH": {"office": "r'rid'"}}), &ctx));
        let both = json!({"AND": [{"MATCH": {"name": "alice"}}, {"MATCH": {"groups": "dev"}}]});
        assert!(matches(&both, &ctx));
        assert!(!matches(&json!({"NOT": {"MATCH": {"name": "alice"}}}), &ctx));
        assert!(matches(&json!({"OR": [{"MATCH": {"name": "bob"}}, {"MATCH": {"office": "Madrid"}}]}), &ctx));
    }

    #[test]
    fn find_stops_at_the_depth_limit() {
        let mut deep = json!({"user_name": "admin"});
        for _ in 0..MAX_DEPTH + 1 {
            deep = json!({ "x": deep });
        }
        assert!(!matches(&json!({"FIND": {"user_name": "admin"}}), &deep));
    }
}
