//! OS_Match ("sregex"): Wazuh's literal matcher.
//!
//! ASCII case-insensitive; `|` separates alternatives (a literal `|` can never match); each
//! alternative is `^x$` (equality), `^x` (prefix), `x$` (suffix), empty (always matches) or a
//! substring; there are no escapes. A leading `!` negates the whole pattern.

use super::subject::{Haystack, Literal, Subject};

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
    Contains(Box<Literal>),
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

    /// Lowercase literals of which at least one occurs in any text this pattern matches; `None`
    /// when there is no such set (negated, or an alternative that matches anything).
    pub fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        if self.negate {
            return None;
        }
        self.alternatives
            .iter()
            .map(|a| match a {
                Alternative::Equals(p) | Alternative::Prefix(p) | Alternative::Suffix(p) => {
                    (!p.is_empty()).then(|| p.clone())
                }
                Alternative::Always => None,
                Alternative::Contains(l) => Some(l.bytes().to_vec()),
            })
            .collect()
    }

    /// Whether `input` (up to its first NUL) matches, negation applied.
    pub fn is_match(&self, input: &[u8]) -> bool {
        self.is_match_in(&Haystack::new(input).subject())
    }

    /// [`OsMatch::is_match`] on a subject whose lowercase copy is already made.
    pub fn is_match_in(&self, subject: &Subject<'_, '_>) -> bool {
        self.alternatives.iter().any(|a| a.matches(subject.lower())) != self.negate
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
        Alternative::Contains(Box::new(Literal::new(alt)))
    }
}

impl Alternative {
    /// Whether the lowercase text `lower` matches (patterns are lower case too).
    fn matches(&self, lower: &[u8]) -> bool {
        match self {
            Self::Equals(p) => lower == p.as_slice(),
            Self::Prefix(p) => lower.starts_with(p),
            Self::Suffix(p) => lower.ends_with(p),
            Self::Always => true,
            Self::Contains(p) => p.find_in(lower).is_some(),
        }
    }
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
        assert!(!m("tail", "ta\0il"), "the text stops at a NUL, as in C");
    }

    #[test]
    fn required_literals() {
        let lits = |p: &str| OsMatch::new(p).ok().and_then(|m| m.required_literals());
        assert_eq!(
            lits("Failed|^Accepted|root$"),
            Some(vec![b"failed".to_vec(), b"accepted".to_vec(), b"root".to_vec()])
        );
        assert_eq!(lits("a|"), None, "an empty alternative matches anything");
        assert_eq!(lits("!a"), None);
        assert_eq!(lits("^$"), None);
    }
}
