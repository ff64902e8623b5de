//! The decoder prefilter: one multi-literal scan of an event's `log` decides which top-level
//! decoders' prematches could possibly match, so only those are tried.
//!
//! For each top-level decoder with an OS_Regex prematch, every alternative's longest literal run
//! must occur (ASCII case-insensitively) for that alternative to match; a decoder is skipped when
//! none of its alternatives' literals occur. Decoders whose prematch has no such literal (PCRE2,
//! class-only alternatives) are always tried. The scan engine sits behind [`LiteralMatcher`]:
//! Hyperscan/Vectorscan, or pure-Rust Aho-Corasick; both must agree.

mod aho;
mod hyperscan;

use std::collections::HashMap;

use crate::ruleset::decoder::{DecoderId, DecoderSet};

pub use self::aho::AhoCorasickMatcher;
pub use self::hyperscan::HyperscanMatcher;

/// A multi-literal scanner: ASCII case-insensitive, reports which literals occur.
pub trait LiteralMatcher: Send + Sync {
    /// Sets `hits[i]` for every literal `i` that occurs in `haystack`.
    fn scan(&self, haystack: &[u8], hits: &mut [bool]);

    /// The engine's name, for reports.
    fn name(&self) -> &'static str;
}

/// Which literal engine to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Hyperscan/Vectorscan (`libhs`).
    Hyperscan,
    /// The pure-Rust `aho-corasick` crate.
    AhoCorasick,
}

/// Why a prefilter could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot build the {engine} prefilter: {reason}")]
pub struct PrefilterError {
    /// The engine.
    pub engine: &'static str,
    /// What failed.
    pub reason: String,
}

/// Literal requirements for the top-level decoders of one [`DecoderSet`].
pub struct Prefilter {
    matcher: Box<dyn LiteralMatcher>,
    /// For each decoder id: `None` = always try; `Some(ids)` = try if any literal occurs.
    requirements: Vec<Option<Vec<u32>>>,
    literals: usize,
}

impl std::fmt::Debug for Prefilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefilter")
            .field("engine", &self.matcher.name())
            .field("literals", &self.literals)
            .finish()
    }
}

/// The literals a scan found in one event.
pub struct Hits<'a> {
    prefilter: &'a Prefilter,
    found: Vec<bool>,
}

impl Hits<'_> {
    /// Whether top-level decoder `id` may match.
    pub fn may_match(&self, id: DecoderId) -> bool {
        match self.prefilter.requirements.get(id) {
            Some(Some(literals)) => literals.iter().any(|&l| self.found[l as usize]),
            _ => true,
        }
    }
}

impl Prefilter {
    /// Builds the prefilter for `set` with `engine`.
    pub fn new(set: &DecoderSet, engine: Engine) -> Result<Self, PrefilterError> {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut index: HashMap<Vec<u8>, u32> = HashMap::new();
        let mut requirements = vec![None; set.len()];
        for node in set.with_program.iter().chain(&set.without_program) {
            let decoder = set.get(node.decoder);
            let Some(runs) = decoder
                .prematch
                .as_ref()
                .and_then(|p| p.as_osregex())
                .and_then(|r| r.required_literals())
            else {
                continue;
            };
            let ids = runs
                .into_iter()
                .map(|run| {
                    *index.entry(run.clone()).or_insert_with(|| {
                        literals.push(run);
                        (literals.len() - 1) as u32
                    })
                })
                .collect();
            requirements[node.decoder] = Some(ids);
        }
        let matcher: Box<dyn LiteralMatcher> = match engine {
            Engine::Hyperscan => Box::new(HyperscanMatcher::new(&literals)?),
            Engine::AhoCorasick => Box::new(AhoCorasickMatcher::new(&literals)?),
        };
        Ok(Self {
            matcher,
            requirements,
            literals: literals.len(),
        })
    }

    /// Scans `log` once.
    pub fn scan(&self, log: &[u8]) -> Hits<'_> {
        let mut found = vec![false; self.literals];
        if self.literals > 0 {
            self.matcher.scan(log, &mut found);
        }
        Hits {
            prefilter: self,
            found,
        }
    }

    /// The engine in use.
    pub fn engine(&self) -> &'static str {
        self.matcher.name()
    }

    /// Number of distinct literals.
    pub fn literal_count(&self) -> usize {
        self.literals
    }

    /// Number of top-level decoders that can be skipped by a scan.
    pub fn filtered_decoders(&self) -> usize {
        self.requirements.iter().filter(|r| r.is_some()).count()
    }
}
