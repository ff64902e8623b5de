//! OS_Match ("sregex"): Wazuh's literal matcher.
//!
//! ASCII case-insensitive; `|` separates alternatives (a literal `|` can never match); each
//! alternative is `^x$` (equality), `^x` (prefix), `x$` (suffix), empty (always matches) or a
//! substring; there are no escapes. A leading `!` negates the whole pattern.

/// How one alternative is tested.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Alternative {
    /// `^x$`.
    Equals(Vec<u8>),
    /// `^x`.
    Prefix(Vec<u8>),
    /// `x$`.
    Suffix(Vec<u8>),
    /// Empty: always true.
    Always,
    /// `x`.
    Contains(Vec<u8>),
}

/// A compiled OS_Match pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsMatch {
    alternatives: Vec<Alternative>,
    negate: bool,
}

/// Largest pattern Wazuh compiles (`OS_PATTERN_MAXSIZE`).
pub const MAX_PATTERN: usize = 20480;

/// Why a pattern does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OsMatchError {
    /// Longer than [`MAX_PATTERN`].
    #[error("pattern longer than {MAX_PATTERN} bytes")]
    TooLong,
}

impl OsMatch {
    /// Compiles `pattern` as Wazuh's `OSMatch_Compile` does.
    pub fn new(pattern: &str) -> Result<Self, OsMatchError> {
        if pattern.len() > MAX_PATTERN {
            return Err(OsMatchError::TooLong);
        }
        let (negate, body) = match pattern.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        let lower = body.as_bytes().to_ascii_lowercase();
        let alternatives = lower.split(|&b| b == b'|').map(alternative).collect();
        Ok(Self { alternatives, negate })
    }

    /// Whether `input` matches (negation applied).
    pub fn is_match(&self, input: &[u8]) -> bool {
        self.alternatives.iter().any(|a| a.matches(input)) != self.negate
    }
}

fn alternative(alt: &[u8]) -> Alternative {
    let begins = alt.first() == Some(&b'^');
    let ends = alt.last() == Some(&b'$');
    let body = if begins { &alt[1..] } else { alt };
    if begins && ends {
        // `^$` leaves `$` as the body before the cut, so an empty body is equality with "".
        Alternative::Equals(body[..body.len().saturating_sub(1)].to_vec())
    } else if alt.is_empty() {
        Alternative::Always
    } else if ends {
        Alternative::Suffix(alt[..alt.len() - 1].to_vec())
    } else if begins {
        Alternative::Prefix(body.to_vec())
    } else {
        Alternative::Contains(alt.to_vec())
    }
}

impl Alternative {
    fn matches(&self, input: &[u8]) -> bool {
        match self {
            Self::Equals(p) => input.eq_ignore_ascii_case(p),
            Self::Prefix(p) => input.len() >= p.len() && input[..p.len()].eq_ignore_ascii_case(p),
            Self::Suffix(p) => input.len() >= p.len() && input[input.len() - p.len()..].eq_ignore_ascii_case(p),
            Self::Always => true,
            Self::Contains(p) => contains_ignore_case(input, p),
        }
    }
}

/// ASCII case-insensitive substring search; `needle` is already lower case.
pub fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    let first = needle[0];
    let last_start = match haystack.len().checked_sub(needle.len()) {
        Some(n) => n,
        None => return false,
    };
    (0..=last_start).any(|i| {
        haystack[i].to_ascii_lowercase() == first
            && haystack[i + 1..i + needle.len()].eq_ignore_ascii_case(&needle[1..])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        OsMatch::new(p).map(|r| r.is_match(s.as_bytes())).unwrap_or(false)
    }

    #[test]
    fn wazuh_semantics() {
        assert!(m("failed password", "sshd: FAILED Password for root"));
        assert!(m("^sshd", "SSHD[12]: x"));
        assert!(!m("^sshd", "x sshd"));
        assert!(m("root$", "user ROOT"));
        assert!(m("^exact$", "EXACT"));
        assert!(!m("^exact$", "exactly"));
        assert!(m("a|b|", "zzz"), "an empty alternative always matches");
        assert!(m("", "anything"));
        assert!(m("^$", ""));
        assert!(!m("^$", "x"));
        assert!(!m("a\\|c", "a|b"), "no escapes: `|` always splits, so a literal | never matches");
        assert!(m("!foo", "bar"));
        assert!(!m("!foo", "foo"));
        assert!(m("^", "x"));
        assert!(m("$", "x"));
    }
}
