//! The pure-Rust literal engine (`aho-corasick`).

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use super::{LiteralMatcher, PrefilterError};

/// ASCII case-insensitive Aho-Corasick over all literals, reporting overlapping matches.
pub struct AhoCorasickMatcher {
    automaton: Option<AhoCorasick>,
}

impl AhoCorasickMatcher {
    /// Builds the automaton.
    pub fn new(literals: &[Vec<u8>]) -> Result<Self, PrefilterError> {
        if literals.is_empty() {
            return Ok(Self { automaton: None });
        }
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(literals)
            .map(|a| Self { automaton: Some(a) })
            .map_err(|e| PrefilterError { engine: "aho-corasick", reason: e.to_string() })
    }
}

impl LiteralMatcher for AhoCorasickMatcher {
    fn scan(&self, haystack: &[u8], hits: &mut [bool]) {
        if let Some(a) = &self.automaton {
            for m in a.find_overlapping_iter(haystack) {
                hits[m.pattern().as_usize()] = true;
            }
        }
    }

    fn name(&self) -> &'static str {
        "aho-corasick"
    }
}
