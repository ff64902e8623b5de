//! One pattern in one of Wazuh's dialects, behind a single interface (Wazuh's `w_expression_t`).
//! Negation is the caller's business, as in Wazuh.

use super::osmatch::{OsMatch, OsMatchError};
use super::osregex::{Match, OsRegex, OsRegexError};
use super::pcre2::{Pcre2, Pcre2Error};
use super::subject::{Haystack, Subject};

/// The dialect of a pattern (`type=` on decoder and rule elements).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Literal alternatives (`osmatch`, "sregex").
    OsMatch,
    /// Wazuh's regex (`osregex`).
    OsRegex,
    /// PCRE2 (`pcre2`).
    Pcre2,
}

impl Dialect {
    /// Reads a `type=` value, case-insensitively; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "osmatch" => Some(Self::OsMatch),
            "osregex" => Some(Self::OsRegex),
            "pcre2" => Some(Self::Pcre2),
            _ => None,
        }
    }
}

/// Why a pattern does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpressionError {
    /// OS_Match refused it.
    #[error("{0}")]
    OsMatch(#[from] OsMatchError),
    /// OS_Regex refused it.
    #[error("{0}")]
    OsRegex(#[from] OsRegexError),
    /// PCRE2 refused it.
    #[error("{0}")]
    Pcre2(#[from] Pcre2Error),
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub enum Expression {
    /// OS_Match.
    OsMatch(OsMatch),
    /// OS_Regex.
    OsRegex(OsRegex),
    /// PCRE2.
    Pcre2(Pcre2),
}

impl Expression {
    /// Compiles `pattern`; `captures` asks for substrings (Wazuh's `OS_RETURN_SUBSTRING`, used
    /// for decoder and rule `<regex>`).
    pub fn new(dialect: Dialect, pattern: &str, captures: bool) -> Result<Self, ExpressionError> {
        Ok(match dialect {
            Dialect::OsMatch => Self::OsMatch(OsMatch::new(pattern)?),
            Dialect::OsRegex if captures => Self::OsRegex(OsRegex::new(pattern)?),
            Dialect::OsRegex => Self::OsRegex(OsRegex::without_captures(pattern)?),
            Dialect::Pcre2 if captures => Self::Pcre2(Pcre2::new(pattern)?),
            Dialect::Pcre2 => Self::Pcre2(Pcre2::without_captures(pattern)?),
        })
    }

    /// Matches `input` up to its first NUL (what Wazuh's C code sees), with end pointer and
    /// captures. OS_Match has neither: its end is the last byte of the input and it captures
    /// nothing.
    pub fn find<'t>(&self, input: &'t [u8]) -> Option<Match<'t>> {
        self.find_in(Haystack::new(input).subject())
    }

    /// [`Expression::find`] on a subject whose lowercase copy is already made.
    pub fn find_in<'t>(&self, subject: Subject<'t, '_>) -> Option<Match<'t>> {
        let input = subject.text();
        match self {
            Self::OsMatch(m) => m
                .is_match_in(&subject)
                .then(|| Match { end: isize::try_from(input.len()).unwrap_or(isize::MAX) - 1, captures: Vec::new() }),
            Self::OsRegex(r) => r.find_in(subject),
            Self::Pcre2(p) => p.find(input),
        }
    }

    /// Whether `input` (up to its first NUL) matches.
    pub fn is_match(&self, input: &[u8]) -> bool {
        let haystack = Haystack::new(input);
        match self {
            Self::OsMatch(m) => m.is_match_in(&haystack.subject()),
            Self::OsRegex(r) => r.find_in(haystack.subject()).is_some(),
            Self::Pcre2(p) => p.is_match(haystack.subject().text()),
        }
    }

    /// The OS_Regex inside, if that is the dialect.
    pub fn as_osregex(&self) -> Option<&OsRegex> {
        match self {
            Self::OsRegex(r) => Some(r),
            _ => None,
        }
    }
}
