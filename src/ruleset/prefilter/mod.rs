//! The decoder prefilter: cheap tests on an event's `log` that rule out top-level decoders whose
//! prematch cannot match, so only the others are tried.
//!
//! Each OS_Regex prematch alternative needs something of the input (see
//! [`OsRegex::requirements`]): anchored ones must start with their leading literals (checked in
//! place), others must contain their longest literal run. Single bytes are looked up in the set
//! of the log's bytes. Runs of two bytes or more are searched for one by one for the first few
//! decoders that ask (most events settle early), then by one multi-literal scan of the log that
//! answers all of them. A decoder is skipped when none of its alternatives' needs is met; prematches with an
//! alternative that needs nothing (PCRE2, class-only) are always tried. The scan engine sits
//! behind [`LiteralMatcher`]: Hyperscan/Vectorscan, or pure-Rust Aho-Corasick; both must agree.
//!
//! [`OsRegex::requirements`]: crate::ruleset::regex::OsRegex::requirements

mod aho;
mod hyperscan;

use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::ruleset::decoder::{DecoderId, DecoderSet};
use crate::ruleset::regex::{Literal, Requirement, Subject};

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

/// One alternative's need, compiled.
#[derive(Debug, Clone)]
enum Need {
    /// The log starts with these (lower-case) bytes.
    Prefix(Vec<u8>),
    /// The log contains this byte, in either case.
    Byte(u8, u8),
    /// The log contains scanned literal number `n`.
    Literal(u32),
}

/// Literal needs answered by a direct search before the multi-literal scan pays off.
const DIRECT_SEARCHES: u8 = 4;

/// Most program names whose matching decoders are remembered.
const PROGRAM_CACHE: usize = 4096;

/// Literal requirements for the top-level decoders of one [`DecoderSet`], and which
/// program-name decoders each program name selects.
pub struct Prefilter {
    matcher: Box<dyn LiteralMatcher>,
    /// For each decoder id: `None` = always try; `Some(needs)` = try if any need is met.
    needs: Vec<Option<Vec<Need>>>,
    /// The scanned literals, by number, for direct searches.
    literals: Vec<Literal>,
    /// Program name → for each node of the program-name list, whether its `<program_name>`
    /// matches. Program names repeat (sshd, sudo…), and each costs a pass over that list.
    programs: RwLock<HashMap<Box<str>, Arc<[bool]>>>,
}

impl std::fmt::Debug for Prefilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefilter")
            .field("engine", &self.matcher.name())
            .field("literals", &self.literals.len())
            .finish()
    }
}

/// The prefilter applied to one event's `log`; the literal scan runs on first use.
pub struct Hits<'a> {
    prefilter: &'a Prefilter,
    log: Subject<'a, 'a>,
    found: OnceCell<Vec<bool>>,
    /// Direct searches done so far.
    searched: std::cell::Cell<u8>,
    /// Which byte values occur in the log (one pass, on first use).
    bytes: OnceCell<[u64; 4]>,
    programs: Option<Arc<[bool]>>,
}

impl Hits<'_> {
    /// Whether top-level decoder `id` may match.
    pub fn may_match(&self, id: DecoderId) -> bool {
        let Some(Some(needs)) = self.prefilter.needs.get(id) else {
            return true;
        };
        needs.iter().any(|need| match need {
            Need::Prefix(p) => self.log.lower().starts_with(p),
            Need::Byte(lower, upper) => {
                let bytes = self.bytes.get_or_init(|| {
                    let mut set = [0u64; 4];
                    for &b in self.log.text() {
                        set[usize::from(b >> 6)] |= 1 << (b & 63);
                    }
                    set
                });
                let has = |b: u8| bytes[usize::from(b >> 6)] & (1 << (b & 63)) != 0;
                has(*lower) || has(*upper)
            }
            Need::Literal(n) => self.has_literal(*n as usize),
        })
    }

    fn has_literal(&self, n: usize) -> bool {
        if self.found.get().is_none() && self.searched.get() < DIRECT_SEARCHES {
            self.searched.set(self.searched.get() + 1);
            return self.prefilter.literals.get(n).is_none_or(|l| l.find(&self.log).is_some());
        }
        let found = self.found.get_or_init(|| {
            let mut found = vec![false; self.prefilter.literals.len()];
            self.prefilter.matcher.scan(self.log.text(), &mut found);
            found
        });
        found.get(n).copied().unwrap_or(true)
    }

    /// Whether the `position`-th node of the program-name list matches the event's program
    /// name (`None`: not known, evaluate it).
    pub fn program_matches(&self, position: usize) -> Option<bool> {
        self.programs.as_ref().and_then(|p| p.get(position).copied())
    }
}

impl Prefilter {
    /// Builds the prefilter for `set` with `engine`.
    pub fn new(set: &DecoderSet, engine: Engine) -> Result<Self, PrefilterError> {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut index: HashMap<Vec<u8>, u32> = HashMap::new();
        let mut needs = vec![None; set.len()];
        for node in set.with_program.iter().chain(&set.without_program) {
            let decoder = set.get(node.decoder);
            let Some(reqs) = decoder.prematch.as_ref().and_then(|p| p.as_osregex()).and_then(|r| r.requirements())
            else {
                continue;
            };
            let compiled = reqs
                .into_iter()
                .map(|req| match req {
                    Requirement::StartsWith(prefix) => Need::Prefix(prefix),
                    Requirement::Contains(run) if run.len() == 1 => Need::Byte(run[0], run[0].to_ascii_uppercase()),
                    Requirement::Contains(run) => Need::Literal(*index.entry(run.clone()).or_insert_with(|| {
                        literals.push(run);
                        (literals.len() - 1) as u32
                    })),
                })
                .collect();
            needs[node.decoder] = Some(compiled);
        }
        let matcher: Box<dyn LiteralMatcher> = match engine {
            Engine::Hyperscan => Box::new(HyperscanMatcher::new(&literals)?),
            Engine::AhoCorasick => Box::new(AhoCorasickMatcher::new(&literals)?),
        };
        let literals = literals.iter().map(|l| Literal::new(l)).collect();
        Ok(Self { matcher, needs, literals, programs: RwLock::new(HashMap::new()) })
    }

    /// The prefilter for one event's `log` and program name.
    pub fn scan<'a>(&'a self, set: &DecoderSet, log: Subject<'a, 'a>, program: Option<&str>) -> Hits<'a> {
        let programs = program.map(|p| self.program_nodes(set, p));
        Hits {
            prefilter: self,
            log,
            found: OnceCell::new(),
            searched: std::cell::Cell::new(0),
            bytes: OnceCell::new(),
            programs,
        }
    }

    /// Which program-name decoders `program` selects, from the cache or computed.
    fn program_nodes(&self, set: &DecoderSet, program: &str) -> Arc<[bool]> {
        if let Some(found) = self.programs.read().ok().and_then(|cache| cache.get(program).cloned()) {
            return found;
        }
        let nodes: Arc<[bool]> = set
            .with_program
            .iter()
            .map(|n| set.get(n.decoder).program_name.as_ref().is_some_and(|e| e.is_match(program.as_bytes())))
            .collect();
        if let Ok(mut cache) = self.programs.write()
            && cache.len() < PROGRAM_CACHE
        {
            cache.insert(program.into(), Arc::clone(&nodes));
        }
        nodes
    }

    /// The engine in use.
    pub fn engine(&self) -> &'static str {
        self.matcher.name()
    }
}
