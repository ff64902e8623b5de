//! Filtering, sorting, paging and field selection of list answers.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::q::{Expr, lookup};
use super::{DEFAULT_LIMIT, MAX_LIMIT, Params};
use crate::api::error::{ApiError, ApiResult};

/// The list parameters every list route takes.
pub const LIST_PARAMS: &[&str] = &["offset", "limit", "sort", "search", "select", "q", "distinct"];

/// One sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    /// Dotted field.
    pub field: String,
    /// Ascending.
    pub ascending: bool,
}

/// What to do to a list.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// First item.
    pub offset: usize,
    /// How many.
    pub limit: usize,
    /// Sort keys, first one first.
    pub sort: Vec<SortKey>,
    /// Substring over every field, and whether it is negated.
    pub search: Option<(String, bool)>,
    /// Fields to keep.
    pub select: Option<Vec<String>>,
    /// Filter.
    pub q: Option<Expr>,
    /// Only distinct combinations of the selected fields.
    pub distinct: bool,
}

/// The `q` parameter, parsed (error 1407 when it does not parse).
pub fn q_expr(p: &Params) -> ApiResult<Option<Expr>> {
    p.get("q").map(|text| text.parse::<Expr>().map_err(|e| ApiError::wazuh(1407, e.to_string()))).transpose()
}

impl Listing {
    /// Reads the list parameters.
    pub fn from_params(p: &Params) -> ApiResult<Self> {
        let sort = p
            .list("sort")
            .unwrap_or_default()
            .into_iter()
            .map(|s| match s.as_bytes().first() {
                Some(b'-') => SortKey { field: s[1..].to_owned(), ascending: false },
                Some(b'+') | Some(b' ') => SortKey { field: s[1..].trim().to_owned(), ascending: true },
                _ => SortKey { field: s, ascending: true },
            })
            .collect();
        let search = p.get("search").map(|s| match s.strip_prefix('-') {
            Some(rest) => (rest.to_lowercase(), true),
            None => (s.to_lowercase(), false),
        });
        let q = q_expr(p)?;
        Ok(Self {
            offset: p.number("offset", 0..=usize::MAX, 0)?,
            limit: p.number("limit", 1..=MAX_LIMIT, DEFAULT_LIMIT)?,
            sort,
            search,
            select: p.list("select"),
            q,
            distinct: p.flag("distinct", false)?,
        })
    }

    /// Whether nothing but paging is asked (the store can page by itself).
    pub fn is_plain(&self) -> bool {
        self.sort.is_empty() && self.search.is_none() && self.select.is_none() && self.q.is_none() && !self.distinct
    }

    /// Filters, sorts, pages and selects `items`; returns the page and how many matched.
    /// `always` are fields a selection always keeps (Wazuh's minimum select fields).
    pub fn apply(&self, mut items: Vec<Value>, always: &[&str]) -> ApiResult<(Vec<Value>, usize)> {
        if let (Some(select), Some(first)) = (&self.select, items.first())
            && let Some(bad) =
                select.iter().find(|f| lookup(first, f).is_none() && !items.iter().any(|i| lookup(i, f).is_some()))
        {
            return Err(ApiError::wazuh(1724, format!("Not a valid select field: {bad}")));
        }
        if let Some(q) = &self.q {
            items.retain(|i| q.matches(i));
        }
        if let Some((needle, negated)) = &self.search {
            items.retain(|i| contains(i, needle) != *negated);
        }
        if !self.sort.is_empty() {
            items.sort_by(|a, b| self.order(a, b));
        }
        if let Some(select) = &self.select {
            // Distinct combinations are of the selected fields alone.
            let always = if self.distinct { &[][..] } else { always };
            items = items.into_iter().map(|i| project(&i, select, always)).collect();
            if self.distinct {
                let mut seen = std::collections::HashSet::new();
                items.retain(|i| seen.insert(i.to_string()));
            }
        }
        let total = items.len();
        let page = items.into_iter().skip(self.offset).take(self.limit).collect();
        Ok((page, total))
    }

    fn order(&self, a: &Value, b: &Value) -> Ordering {
        self.sort
            .iter()
            .map(|k| {
                let o = order_values(lookup(a, &k.field), lookup(b, &k.field));
                if k.ascending { o } else { o.reverse() }
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

/// Numbers numerically, text case-insensitively, missing values last.
fn order_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            x.as_f64().unwrap_or(0.0).partial_cmp(&y.as_f64().unwrap_or(0.0)).unwrap_or(Ordering::Equal)
        }
        (Some(Value::String(x)), Some(Value::String(y))) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Whether any scalar inside `v` contains `needle` (already lower case).
fn contains(v: &Value, needle: &str) -> bool {
    match v {
        Value::String(s) => s.to_lowercase().contains(needle),
        Value::Number(n) => n.to_string().contains(needle),
        Value::Array(items) => items.iter().any(|i| contains(i, needle)),
        Value::Object(map) => map.values().any(|i| contains(i, needle)),
        _ => false,
    }
}

/// `item` reduced to the `select`ed dotted fields plus `always`.
fn project(item: &Value, select: &[String], always: &[&str]) -> Value {
    let mut out = Value::Object(Map::new());
    for path in select.iter().map(String::as_str).chain(always.iter().copied()) {
        if let Some(v) = lookup(item, path) {
            insert_path(&mut out, path, v.clone());
        }
    }
    out
}

/// Sets the dotted `path` of `out` to `v`, making objects on the way; a path through a value
/// that is not an object (`name` then `name.x`) is left alone.
pub fn insert_path(out: &mut Value, path: &str, v: Value) {
    let mut node = out;
    let mut keys = path.split('.').peekable();
    while let Some(key) = keys.next() {
        let Value::Object(map) = node else { return };
        if keys.peek().is_none() {
            map.insert(key.to_owned(), v);
            return;
        }
        node = map.entry(key.to_owned()).or_insert_with(|| Value::Object(Map::new()));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn listing(query: &str) -> Listing {
        Listing::from_params(&Params::parse(Some(query))).expect("test value")
    }

    fn agents() -> Vec<Value> {
        vec![
            json!({"id": "001", "name": "web", "os": {"name": "Ubuntu"}, "level": 3}),
            json!({"id": "002", "name": "db", "os": {"name": "Debian"}, "level": 12}),
            json!({"id": "003", "name": "mail", "level": 7}),
        ]
    }

    #[test]
    fn sort_page_and_select_nested_fields() {
        let (page, total) = listing("sort=-level&limit=2&select=os.name").apply(agents(), &["id"]).expect("test value");
        assert_eq!(total, 3);
        assert_eq!(page, vec![json!({"id": "002", "os": {"name": "Debian"}}), json!({"id": "003"})]);
        let (page, _) = listing("sort=+os.name").apply(agents(), &[]).expect("test value");
        assert_eq!(page[0]["id"], "002");
        assert_eq!(page[2]["id"], "003", "missing values sort last");
    }

    #[test]
    fn search_q_and_distinct() {
        let (page, total) = listing("search=UBU").apply(agents(), &[]).expect("test value");
        assert_eq!((total, page[0]["id"].as_str()), (1, Some("001")));
        let (_, total) = listing("search=-ubu").apply(agents(), &[]).expect("test value");
        assert_eq!(total, 2);
        let (_, total) = listing("q=level>5;name!=mail").apply(agents(), &[]).expect("test value");
        assert_eq!(total, 1);
        let mut many = agents();
        many.push(json!({"id": "004", "name": "web", "level": 1}));
        let (page, total) = listing("select=name&distinct=true").apply(many, &[]).expect("test value");
        assert_eq!((total, page.len()), (3, 3));
    }

    #[test]
    fn bad_select_and_q_are_refused_with_wazuh_codes() {
        assert_eq!(listing("select=nope").apply(agents(), &[]).expect_err("an error").code, Some(1724));
        assert_eq!(Listing::from_params(&Params::parse(Some("q=a%3D1%3B"))).expect_err("an error").code, Some(1407));
        assert!(Listing::from_params(&Params::parse(Some("limit=100001"))).is_err());
    }
}
