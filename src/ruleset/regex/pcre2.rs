//! `type="pcre2"`: PCRE2 through the `pcre2` crate with JIT, with Wazuh's options and results.
//!
//! Wazuh compiles with no options: case-sensitive, no UTF, `.` does not match a newline. Its end
//! pointer is the last byte of the match (`ovector[1] - 1`), and its captures are groups
//! `1..rc-1` (`rc` = highest group that took part + 1): an unset group in the middle is `""`,
//! trailing unset groups are absent.

use pcre2::bytes::{CaptureLocations, Regex, RegexBuilder};

use super::osregex::Match;

/// A compiled PCRE2 pattern.
#[derive(Debug, Clone)]
pub struct Pcre2 {
    regex: Regex,
    /// Whether [`Pcre2::find`] reports groups; without them it uses the crate's pooled match
    /// data instead of allocating some per call.
    captures: bool,
}

/// PCRE2's compile error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Pcre2Error(String);

impl Pcre2 {
    /// Compiles `pattern` (JIT when the library has it), reporting captured groups.
    pub fn new(pattern: &str) -> Result<Self, Pcre2Error> {
        Self::compile(pattern, true)
    }

    /// Compiles `pattern` for its end pointer only (decoder `<prematch>`).
    pub fn without_captures(pattern: &str) -> Result<Self, Pcre2Error> {
        Self::compile(pattern, false)
    }

    fn compile(pattern: &str, captures: bool) -> Result<Self, Pcre2Error> {
        RegexBuilder::new()
            .jit_if_available(true)
            .build(pattern)
            .map(|regex| Self { regex, captures })
            .map_err(|e| Pcre2Error(e.to_string()))
    }

    /// The first match in `input`, with Wazuh's end pointer and captures (none when compiled
    /// without).
    pub fn find<'a>(&self, input: &'a [u8]) -> Option<Match<'a>> {
        if !self.captures {
            let whole = self.regex.find(input).ok().flatten()?;
            return Some(Match { end: isize::try_from(whole.end()).ok()? - 1, captures: Vec::new() });
        }
        let mut locations: CaptureLocations = self.regex.capture_locations();
        let whole = self.regex.captures_read(&mut locations, input).ok().flatten()?;
        let end = isize::try_from(whole.end()).ok()? - 1;
        let highest = (1..locations.len()).rev().find(|&i| locations.get(i).is_some()).unwrap_or(0);
        let captures = (1..=highest).map(|i| locations.get(i).map_or(&input[..0], |(s, e)| &input[s..e])).collect();
        Some(Match { end, captures })
    }

    /// Whether `input` matches.
    pub fn is_match(&self, input: &[u8]) -> bool {
        self.regex.is_match(input).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wazuh_semantics() {
        let re = Pcre2::new(r"^(a)(x)?(b)(y)?").unwrap_or_else(|e| panic!("{e}"));
        let m = re.find(b"ab rest");
        assert_eq!(m.as_ref().map(|m| m.end), Some(1));
        let caps: Option<Vec<&[u8]>> = m.map(|m| m.captures);
        assert_eq!(caps, Some(vec![&b"a"[..], b"", b"b"]), "unset middle is empty, trailing unset absent");
        let re = Pcre2::new("Failed").unwrap_or_else(|e| panic!("{e}"));
        assert!(!re.is_match(b"failed"), "case-sensitive");
        assert_eq!(Pcre2::new("x*").ok().and_then(|r| r.find(b"abc")).map(|m| m.end), Some(-1));
        assert!(Pcre2::new("(").is_err());
        let bare = Pcre2::without_captures(r"^(a)(x)?(b)").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bare.find(b"ab rest").map(|m| (m.end, m.captures.len())), Some((1, 0)));
    }
}
