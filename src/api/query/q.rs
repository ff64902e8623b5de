//! Wazuh's `q` filter: `field OP value` terms (`=`, `!=`, `<`, `>`, `~`), joined by `;` (and)
//! and `,` (or), grouped with parentheses. As in the SQL Wazuh builds from it, `;` binds tighter
//! than `,`. Field names are dotted paths into the item.

use serde_json::Value;

/// Deepest parenthesis nesting accepted (hostile input cannot exhaust the stack).
const MAX_NESTING: usize = 32;

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `>`.
    Gt,
    /// `~`: contains, case-insensitive.
    Like,
}

/// A parsed `q` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// `field OP value`.
    Term {
        /// Dotted field path.
        field: String,
        /// Comparison.
        op: Op,
        /// Right-hand side as written.
        value: String,
    },
    /// All must hold.
    And(Vec<Expr>),
    /// One must hold.
    Or(Vec<Expr>),
}

/// Why a `q` expression is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid query: {0}")]
pub struct QueryError(pub String);

impl std::str::FromStr for Expr {
    type Err = QueryError;
    fn from_str(s: &str) -> Result<Self, QueryError> {
        let mut p = Parser { text: s.as_bytes(), at: 0, depth: 0 };
        let expr = p.or()?;
        if p.at != p.text.len() {
            return Err(QueryError(format!("unexpected '{}' at position {}", char::from(p.text[p.at]), p.at)));
        }
        Ok(expr)
    }
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn or(&mut self) -> Result<Expr, QueryError> {
        let mut items = vec![self.and()?];
        while self.peek() == Some(b',') {
            self.at += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::Or(items) })
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut items = vec![self.primary()?];
        while self.peek() == Some(b';') {
            self.at += 1;
            items.push(self.primary()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::And(items) })
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        if self.peek() != Some(b'(') {
            return self.term();
        }
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(QueryError("too many nested parentheses".into()));
        }
        self.at += 1;
        let inner = self.or()?;
        if self.peek() != Some(b')') {
            return Err(QueryError(format!("missing ')' at position {}", self.at)));
        }
        self.at += 1;
        self.depth -= 1;
        Ok(inner)
    }

    fn term(&mut self) -> Result<Expr, QueryError> {
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-') {
            self.at += 1;
        }
        let field = String::from_utf8_lossy(&self.text[start..self.at]).into_owned();
        if field.is_empty() {
            return Err(QueryError(format!("expected a field name at position {start}")));
        }
        let op = match (self.peek(), self.text.get(self.at + 1)) {
            (Some(b'!'), Some(b'=')) => {
                self.at += 1;
                Op::Ne
            }
            (Some(b'='), _) => Op::Eq,
            (Some(b'<'), _) => Op::Lt,
            (Some(b'>'), _) => Op::Gt,
            (Some(b'~'), _) => Op::Like,
            _ => return Err(QueryError(format!("expected =, !=, <, > or ~ after '{field}'"))),
        };
        self.at += 1;
        let value_start = self.at;
        // A value runs to the next separator; parentheses inside it must balance.
        let mut open = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b';' | b',' if open == 0 => break,
                b')' if open == 0 => break,
                b'(' => open += 1,
                b')' => open -= 1,
                _ => {}
            }
            self.at += 1;
        }
        if open != 0 {
            return Err(QueryError(format!("unbalanced '(' in the value of '{field}'")));
        }
        let value = String::from_utf8_lossy(&self.text[value_start..self.at]).into_owned();
        Ok(Expr::Term { field, op, value })
    }
}

/// The value at a dotted path.
pub fn lookup<'v>(item: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(item, |v, key| v.get(key))
}

impl Expr {
    /// Whether `item` satisfies the expression.
    pub fn matches(&self, item: &Value) -> bool {
        match self {
            Self::And(items) => items.iter().all(|e| e.matches(item)),
            Self::Or(items) => items.iter().any(|e| e.matches(item)),
            Self::Term { field, op, value } => {
                let found = lookup(item, field);
                let any = |f: &dyn Fn(&Value) -> bool| match found {
                    Some(Value::Array(items)) => items.iter().any(f),
                    Some(v) => f(v),
                    None => false,
                };
                match op {
                    Op::Ne => !any(&|v| compare(v, value) == Some(std::cmp::Ordering::Equal)),
                    Op::Eq => any(&|v| compare(v, value) == Some(std::cmp::Ordering::Equal)),
                    Op::Lt => any(&|v| compare(v, value) == Some(std::cmp::Ordering::Less)),
                    Op::Gt => any(&|v| compare(v, value) == Some(std::cmp::Ordering::Greater)),
                    Op::Like => any(&|v| text(v).is_some_and(|t| contains_ignore_case(&t, value))),
                }
            }
        }
    }
}

/// The text form of a scalar.
fn text(v: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match v {
        Value::String(s) => Some(s.as_str().into()),
        Value::Number(n) => Some(n.to_string().into()),
        Value::Bool(b) => Some(b.to_string().into()),
        _ => None,
    }
}

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

/// Orders a field value against the written value: numerically when both are numbers, as
/// timestamps when both are dates, otherwise as text.
fn compare(v: &Value, written: &str) -> Option<std::cmp::Ordering> {
    let own = text(v)?;
    if let (Ok(a), Ok(b)) = (own.parse::<f64>(), written.parse::<f64>()) {
        return a.partial_cmp(&b);
    }
    if let (Some(a), Some(b)) = (timestamp(&own), timestamp(written)) {
        return Some(a.cmp(&b));
    }
    Some(own.as_ref().cmp(written))
}

fn timestamp(s: &str) -> Option<jiff::Timestamp> {
    s.parse::<jiff::Timestamp>()
        .ok()
        .or_else(|| s.parse::<jiff::civil::DateTime>().ok().and_then(|d| jiff::tz::TimeZone::UTC.to_timestamp(d).ok()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn q(s: &str) -> Expr {
        s.parse().expect("test value")
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_group() {
        assert_eq!(
            q("a=1;b=2,c=3"),
            Expr::Or(vec![
                Expr::And(vec![
                    Expr::Term { field: "a".into(), op: Op::Eq, value: "1".into() },
                    Expr::Term { field: "b".into(), op: Op::Eq, value: "2".into() },
                ]),
                Expr::Term { field: "c".into(), op: Op::Eq, value: "3".into() },
            ])
        );
        let agent = json!({"status": "active", "os": {"platform": "ubuntu"}, "id": "001"});
        assert!(q("(status=active,status=pending);os.platform~UBUN").matches(&agent));
        assert!(!q("(status=never_connected,status=pending);os.platform~ubuntu").matches(&agent));
        assert!(q("id!=000").matches(&agent));
    }

    #[test]
    fn numbers_dates_and_arrays_compare_as_wazuh_users_expect() {
        let item = json!({"level": 10, "group": ["default", "web"], "dateAdd": "2026-01-02T03:04:05Z"});
        assert!(q("level>9").matches(&item));
        assert!(!q("level<10").matches(&item));
        assert!(q("group=web").matches(&item));
        assert!(!q("group!=web").matches(&item));
        assert!(q("dateAdd>2026-01-01T00:00:00Z").matches(&item));
        assert!(!q("missing=1").matches(&item));
        assert!(q("missing!=1").matches(&item));
    }

    #[test]
    fn malformed_expressions_are_refused() {
        for bad in ["", "=x", "a", "a=1;", "(a=1", "a=1)", "a==1;(b", "name==(", &"(".repeat(100)] {
            assert!(bad.parse::<Expr>().is_err(), "{bad}");
        }
    }
}
