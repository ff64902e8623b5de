//! The Hyperscan/Vectorscan literal engine (`libhs` through the `hyperscan` crate).

use std::sync::Mutex;

use hyperscan::prelude::{BlockDatabase, Builder as _, Matching, Scratch};
use hyperscan::{Block, Literal, LiteralFlags, Literals};

use super::{LiteralMatcher, PrefilterError};

/// All literals compiled into one block-mode database, caseless, one report per literal.
pub struct HyperscanMatcher {
    database: Option<BlockDatabase>,
    /// Scratch spaces: one per concurrent scan, reused.
    scratch: Mutex<Vec<Scratch>>,
}

fn error(reason: impl ToString) -> PrefilterError {
    PrefilterError { engine: "hyperscan", reason: reason.to_string() }
}

impl HyperscanMatcher {
    /// Compiles the database.
    pub fn new(literals: &[Vec<u8>]) -> Result<Self, PrefilterError> {
        if literals.is_empty() {
            return Ok(Self { database: None, scratch: Mutex::new(Vec::new()) });
        }
        let literals: Literals = literals
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut lit =
                    Literal::with_flags(String::from_utf8_lossy(l), LiteralFlags::CASELESS | LiteralFlags::SINGLEMATCH)
                        .map_err(error)?;
                lit.id = Some(i);
                Ok(lit)
            })
            .collect::<Result<Vec<_>, PrefilterError>>()?
            .into_iter()
            .collect();
        let database: BlockDatabase = literals.build::<Block>().map_err(error)?;
        let first = database.alloc_scratch().map_err(error)?;
        Ok(Self { database: Some(database), scratch: Mutex::new(vec![first]) })
    }
}

impl LiteralMatcher for HyperscanMatcher {
    fn scan(&self, haystack: &[u8], hits: &mut [bool]) {
        let Some(db) = &self.database else {
            return;
        };
        let pooled = self.scratch.lock().ok().and_then(|mut pool| pool.pop());
        let Some(scratch) = pooled.or_else(|| db.alloc_scratch().ok()) else {
            // Without scratch space nothing can be ruled out: report every literal.
            hits.fill(true);
            return;
        };
        let scanned = db.scan(haystack, &scratch, |id: u32, _from: u64, _to: u64, _flags: u32| {
            if let Some(hit) = hits.get_mut(id as usize) {
                *hit = true;
            }
            Matching::Continue
        });
        if scanned.is_err() {
            hits.fill(true);
        }
        if let Ok(mut pool) = self.scratch.lock() {
            pool.push(scratch);
        }
    }

    fn name(&self) -> &'static str {
        "hyperscan"
    }
}
