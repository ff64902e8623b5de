//! Query parameters: Wazuh's common ones (`offset`, `limit`, `sort`, `search`, `select`, `q`,
//! `pretty`, `wait_for_complete`, `distinct`) and arrays given as comma lists or repeated keys.

pub mod list;
pub mod q;

use super::error::{ApiError, ApiResult};

/// Parameters every route takes.
const ALWAYS: &[&str] = &["pretty", "wait_for_complete"];

/// Largest `limit` (Wazuh's maximum).
pub const MAX_LIMIT: usize = 100_000;

/// Default `limit`.
pub const DEFAULT_LIMIT: usize = 500;

/// Parsed query string: keys in order, repeated keys kept.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses a raw query string (`None`: no query).
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = raw.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
        Self { pairs }
    }

    /// Parses a raw query string and refuses keys outside `allowed` (see [`Params::only`]).
    pub fn accept(raw: Option<&str>, allowed: &[&str]) -> ApiResult<Self> {
        let params = Self::parse(raw);
        params.only(allowed)?;
        Ok(params)
    }

    /// Refuses keys outside `allowed` (and the parameters every route takes), as Wazuh's
    /// strict validation does.
    pub fn only(&self, allowed: &[&str]) -> ApiResult<&Self> {
        let extra: Vec<&str> = self
            .pairs
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !allowed.contains(k) && !ALWAYS.contains(k))
            .collect();
        if extra.is_empty() {
            Ok(self)
        } else {
            Err(ApiError::bad_request(format!("Extra query parameter(s) {} not in spec", extra.join(", "))))
        }
    }

    /// The last value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, repeated keys and comma lists both split; empty parts dropped.
    pub fn list(&self, key: &str) -> Option<Vec<String>> {
        let mut found = false;
        let mut values = Vec::new();
        for (_, v) in self.pairs.iter().filter(|(k, _)| k == key) {
            found = true;
            values.extend(v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned));
        }
        found.then_some(values)
    }

    /// A boolean (`true`/`false`), `default` when absent.
    pub fn flag(&self, key: &str, default: bool) -> ApiResult<bool> {
        match self.get(key) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(ApiError::bad_request(format!("'{other}' is not of type 'boolean' ({key})"))),
        }
    }

    /// A non-negative integer in `range`, `default` when absent.
    pub fn number(&self, key: &str, range: std::ops::RangeInclusive<usize>, default: usize) -> ApiResult<usize> {
        let Some(raw) = self.get(key) else { return Ok(default) };
        let n: usize =
            raw.parse().map_err(|_| ApiError::bad_request(format!("'{raw}' is not of type 'integer' ({key})")))?;
        if range.contains(&n) {
            Ok(n)
        } else {
            Err(ApiError::bad_request(format!("{n} is out of range for '{key}' ({}..={})", range.start(), range.end())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_come_as_comma_lists_or_repeated_keys() {
        let p = Params::parse(Some("agents_list=001,002&agents_list=003&pretty=true&q=a%3Db"));
        assert_eq!(p.list("agents_list").expect("test value"), ["001", "002", "003"]);
        assert_eq!(p.list("nope"), None);
        assert_eq!(p.get("q"), Some("a=b"));
        assert!(p.flag("pretty", false).expect("test value"));
        assert!(p.only(&["agents_list", "q"]).is_ok());
        assert_eq!(
            p.only(&["q"]).expect_err("an error").detail,
            "Extra query parameter(s) agents_list, agents_list not in spec"
        );
    }

    #[test]
    fn numbers_and_flags_are_checked() {
        let p = Params::parse(Some("limit=0&offset=x&pretty=yes"));
        assert!(p.number("limit", 1..=MAX_LIMIT, DEFAULT_LIMIT).is_err());
        assert!(p.number("offset", 0..=usize::MAX, 0).is_err());
        assert!(p.flag("pretty", false).is_err());
        assert_eq!(Params::parse(None).number("limit", 1..=MAX_LIMIT, DEFAULT_LIMIT).expect("test value"), 500);
    }
}
