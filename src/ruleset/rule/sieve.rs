//! A literal sieve over a long list of sibling rules: most of them can only match when one of
//! the literals of their `<match>` occurs in the log. One multi-literal scan of the log tells
//! which siblings are still possible; the others fail their `<match>` for sure, so skipping
//! them changes no result (only the `-v` trace, which walks every sibling).

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// Lists shorter than this are walked without a sieve.
pub const MIN_SIBLINGS: usize = 16;

/// The sieve of one sibling list.
#[derive(Debug, Clone)]
pub struct Sieve {
    automaton: AhoCorasick,
    /// Per sibling: it has no literal requirement.
    unconditional: Vec<bool>,
    /// Per literal: the siblings it makes possible.
    enables: Vec<Vec<u32>>,
}

impl Sieve {
    /// A sieve for siblings with these literal requirements (in list order), or `None` when too
    /// few have one to be worth a scan.
    pub fn build(requirements: &[Option<Vec<Vec<u8>>>]) -> Option<Self> {
        let conditional = requirements.iter().filter(|r| r.is_some()).count();
        if requirements.len() < MIN_SIBLINGS || conditional * 2 < requirements.len() {
            return None;
        }
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut enables: Vec<Vec<u32>> = Vec::new();
        for (position, requirement) in requirements.iter().enumerate() {
            for literal in requirement.iter().flatten() {
                let id = match literals.iter().position(|l| l == literal) {
                    Some(id) => id,
                    None => {
                        literals.push(literal.clone());
                        enables.push(Vec::new());
                        literals.len() - 1
                    }
                };
                enables[id].push(position as u32);
            }
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&literals)
            .ok()?;
        Some(Self { automaton, unconditional: requirements.iter().map(Option::is_none).collect(), enables })
    }

    /// Which siblings may still match a log whose lowercase copy is `lower`.
    pub fn possible(&self, lower: &[u8]) -> Vec<bool> {
        let mut possible = self.unconditional.clone();
        for found in self.automaton.find_overlapping_iter(lower) {
            for &position in &self.enables[found.pattern().as_usize()] {
                possible[position as usize] = true;
            }
        }
        possible
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siblings_without_their_literal_are_ruled_out() {
        let mut requirements: Vec<Option<Vec<Vec<u8>>>> =
            (0..20).map(|i| Some(vec![format!("word{i:02}").into_bytes()])).collect();
        requirements[3] = None;
        requirements[7] = Some(vec![b"failed".to_vec(), b"word01".to_vec()]);
        let sieve = Sieve::build(&requirements).expect("worth a sieve");
        let possible = sieve.possible(b"sshd: word01 and word15 here");
        let expected: Vec<usize> = possible.iter().enumerate().filter(|(_, p)| **p).map(|(i, _)| i).collect();
        assert_eq!(expected, vec![1, 3, 7, 15]);
        assert!(Sieve::build(&requirements[..5]).is_none(), "short lists are walked as they are");
    }
}
