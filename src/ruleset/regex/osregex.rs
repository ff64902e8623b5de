//! OS_Regex: Wazuh's own regular-expression dialect, with its matcher's exact behaviour.
//!
//! This is not a backtracking engine: it scans start positions left to right, quantified classes
//! are greedy with a one-token lookahead and at most four saved restart points. Its end pointer
//! and captures are what decoders build on (`after_regex`, `pmatch`), so the matcher below
//! follows Wazuh's `_OS_Regex` step by step; `osregex_golden.jsonl` (answers of Wazuh's C code)
//! checks it.
//!
//! Syntax: `\d \w \s \p \. \t \D \W \S` classes and `\( \) \\ \$ \| \<` literals; only an escape
//! may take `+` or `*`; one level of `( )` for captures; `|` splits alternatives at depth 0;
//! `^`/`$` anchor each alternative; literals compare case-insensitively.

use super::osmatch::MAX_PATTERN;
use super::subject::{Haystack, Literal, Subject};

/// Why a pattern does not compile (Wazuh's `OS_REGEX_*` errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OsRegexError {
    /// Longer than the maximum pattern size.
    #[error("pattern longer than {MAX_PATTERN} bytes")]
    TooLong,
    /// `\` followed by a character that is not an escape.
    #[error("invalid escape '\\{0}'")]
    BadEscape(char),
    /// Nested, unbalanced, or `|` inside parentheses.
    #[error("bad parenthesis")]
    BadParenthesis,
}

/// Escape codes as Wazuh's compiler stores them after a backslash.
mod code {
    pub const DIGIT: u8 = 1;
    pub const WORD: u8 = 2;
    pub const SPACE: u8 = 3;
    pub const PUNCT: u8 = 4;
    pub const LPAREN: u8 = 5;
    pub const RPAREN: u8 = 6;
    pub const BACKSLASH: u8 = 7;
    pub const NOT_DIGIT: u8 = 8;
    pub const NOT_WORD: u8 = 9;
    pub const NOT_SPACE: u8 = 10;
    pub const ANY: u8 = 11;
    pub const TAB: u8 = 12;
    pub const DOLLAR: u8 = 13;
    pub const PIPE: u8 = 14;
    pub const LT: u8 = 15;
}

fn escape_code(c: u8) -> Option<u8> {
    Some(match c {
        b'd' => code::DIGIT,
        b'w' => code::WORD,
        b's' => code::SPACE,
        b'p' => code::PUNCT,
        b'(' => code::LPAREN,
        b')' => code::RPAREN,
        b'\\' => code::BACKSLASH,
        b'D' => code::NOT_DIGIT,
        b'W' => code::NOT_WORD,
        b'S' => code::NOT_SPACE,
        b'.' => code::ANY,
        b't' => code::TAB,
        b'$' => code::DOLLAR,
        b'|' => code::PIPE,
        b'<' => code::LT,
        _ => return None,
    })
}

/// Wazuh's `\w`: letters, digits, `-`, `@`, `_`.
const fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'@' || b == b'_'
}

/// Wazuh's `\p`: `!"#$%&'()*+,-.:;<=>?[]{|}`.
const fn is_punct(b: u8) -> bool {
    matches!(b, 33..=46 | 58..=63 | b'[' | b']' | 123..=125)
}

/// `class_of` as a table: one 256-entry row per code, built at compile time.
static CLASSES: [[bool; 256]; 16] = {
    let mut table = [[false; 256]; 16];
    let mut code = 0;
    while code < 16 {
        let mut b = 0;
        while b < 256 {
            table[code][b] = class_of_const(code as u8, b as u8);
            b += 1;
        }
        code += 1;
    }
    table
};

/// Whether byte `b` belongs to escape class `code` (Wazuh's `regexmap`).
const fn class_of_const(code: u8, b: u8) -> bool {
    let word = is_word(b);
    let punct = is_punct(b);
    match code {
        code::DIGIT => b.is_ascii_digit(),
        code::WORD => word,
        code::SPACE => b == b' ',
        code::PUNCT => punct,
        code::LPAREN => b == b'(',
        code::RPAREN => b == b')',
        code::BACKSLASH => b == b'\\',
        code::NOT_DIGIT => !b.is_ascii_digit(),
        code::NOT_WORD => !word,
        code::NOT_SPACE => b != b' ',
        code::ANY => true,
        code::TAB => b == b'\t',
        code::DOLLAR => b == b'$',
        code::PIPE => b == b'|',
        code::LT => b == b'<',
        _ => false,
    }
}

#[inline]
fn class(code: u8, b: u8) -> bool {
    CLASSES[usize::from(code & 15)][usize::from(b)]
}

fn is_plus(b: u8) -> bool {
    b == b'+' || b == b'*'
}

/// Both parentheses are stored as `(` after compilation, as in Wazuh.
const PAREN: u8 = b'(';
/// Zero bytes after each compiled alternative, so look-aheads past its end read NUL as in C.
const PAD: usize = 4;

/// One `|`-separated alternative.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Alternative {
    /// Encoded pattern followed by [`PAD`] zero bytes.
    code: Vec<u8>,
    begin: bool,
    end: bool,
    /// Positions of the parentheses in `code`, in order (open, close, open, close…).
    parens: Vec<usize>,
    /// For each byte of `code`, the index of the parenthesis there (`u16::MAX`: none).
    paren_index: Vec<u16>,
    /// Literal runs every match of this alternative contains (see [`literal_runs`]).
    runs: Vec<Vec<u8>>,
    /// For an anchored alternative, the literal bytes every match starts with.
    prefix: Option<Vec<u8>>,
    /// The distinct runs, searched for before running the matcher.
    needles: Vec<Literal>,
    /// What a fresh start must find at the current byte, for skipping to the next candidate.
    lead: Lead,
    /// Whether [`Lead`] can rule out any start.
    lead_useful: bool,
}

/// What the matcher needs at a fresh start (nothing saved), where any other start only makes
/// Wazuh's loop restart one byte further on: an optional single class escape (`\\X`, not
/// repeated) then a literal run.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Lead {
    class: Option<u8>,
    /// The only byte of `class`, when it has one (`\\s`, `\\(`, `\\t`…).
    single: Option<u8>,
    run: Option<Literal>,
}

impl Lead {
    fn of(code: &[u8]) -> Self {
        let (class, rest) = match code {
            [b'\\', c, next, ..] if !is_plus(*next) => (Some(*c), &code[2..]),
            _ => (None, code),
        };
        let run: Vec<u8> = rest.iter().take_while(|&&b| b != 0 && b != b'\\' && b != PAREN).copied().collect();
        let single = class.and_then(|c| {
            let mut members = (0..=255u8).filter(|&b| self::class(c, b));
            members.next().filter(|_| members.next().is_none())
        });
        Self { class, single, run: (!run.is_empty()).then(|| Literal::new(&run)) }
    }

    /// Whether some start can be ruled out.
    fn useful(&self) -> bool {
        self.run.is_some() || self.single.is_some()
    }

    /// Whether the lead matches at `at`.
    fn matches_at(&self, subject: &Subject<'_, '_>, at: usize) -> bool {
        let (class_ok, run_at) = match self.class {
            Some(c) => (subject.text().get(at).is_some_and(|&b| class(c, b)), at + 1),
            None => (true, at),
        };
        class_ok && self.run.as_ref().is_none_or(|run| run.starts(&subject.suffix(run_at)))
    }

    /// The first position at or after `from` where a fresh start can get past the lead.
    fn next(&self, subject: &Subject<'_, '_>, from: usize) -> Option<usize> {
        if self.matches_at(subject, from) {
            return Some(from);
        }
        let Some(run) = &self.run else {
            let text = subject.text().get(from..)?;
            return self.single.map_or(Some(from), |b| memchr::memchr(b, text).map(|i| from + i));
        };
        let Some(c) = self.class else {
            return run.find(&subject.suffix(from)).map(|i| from + i);
        };
        // The run after a byte of the class.
        let mut at = from + 1;
        loop {
            let start = at + run.find(&subject.suffix(at))? - 1;
            if class(c, subject.text()[start]) {
                return Some(start);
            }
            at = start + 2;
        }
    }
}

/// A compiled OS_Regex pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsRegex {
    alternatives: Vec<Alternative>,
    /// Compiled for substrings (Wazuh's `OS_RETURN_SUBSTRING`). Without it Wazuh skips the
    /// end-of-input parenthesis step, which can change the result, so both modes exist.
    captures: bool,
}

/// A successful match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match<'a> {
    /// Wazuh's end pointer as an offset into the input: usually the last byte consumed, sometimes
    /// elsewhere (even -1); decoders continue at `end + 1` unless that is past the input.
    pub end: isize,
    /// Captured substrings of the alternative that matched, in parenthesis order.
    pub captures: Vec<&'a [u8]>,
}

impl OsRegex {
    /// Compiles `pattern` for matching with captures (decoder `<regex>`, rule `<regex>`).
    pub fn new(pattern: &str) -> Result<Self, OsRegexError> {
        Self::compile(pattern, true)
    }

    /// Compiles `pattern` for matching only (decoder `<prematch>`).
    pub fn without_captures(pattern: &str) -> Result<Self, OsRegexError> {
        Self::compile(pattern, false)
    }

    /// Compiles `pattern` as Wazuh's `OSRegex_Compile` does.
    fn compile(pattern: &str, captures: bool) -> Result<Self, OsRegexError> {
        if pattern.len() > MAX_PATTERN {
            return Err(OsRegexError::TooLong);
        }
        let src = pattern.as_bytes();
        let mut encoded = Vec::with_capacity(src.len());
        let mut depth = 0i32;
        let mut i = 0;
        while i < src.len() {
            let c = src[i];
            if c == b'\\' {
                let next = src.get(i + 1).copied().unwrap_or(0);
                let code = escape_code(next).ok_or(OsRegexError::BadEscape(char::from(next)))?;
                encoded.extend_from_slice(&[b'\\', code]);
                i += 2;
                continue;
            }
            let mut c = c.to_ascii_lowercase();
            if c == b'(' {
                depth += 1;
            } else if c == b')' {
                c = PAREN;
                depth -= 1;
            }
            if depth != 0 && depth != 1 {
                return Err(OsRegexError::BadParenthesis);
            }
            if c == b'|' && depth != 0 {
                return Err(OsRegexError::BadParenthesis);
            }
            encoded.push(c);
            i += 1;
        }
        if depth != 0 {
            return Err(OsRegexError::BadParenthesis);
        }
        let alternatives = split_alternatives(&encoded).into_iter().map(compile_alternative).collect();
        Ok(Self { alternatives, captures })
    }

    /// Matches `input` (bytes up to the first NUL, as C sees them). The first alternative that
    /// matches wins.
    pub fn find<'t>(&self, input: &'t [u8]) -> Option<Match<'t>> {
        self.find_in(Haystack::new(input).subject())
    }

    /// [`OsRegex::find`] on a subject whose lowercase copy is already made.
    pub fn find_in<'t>(&self, subject: Subject<'t, '_>) -> Option<Match<'t>> {
        self.find_with(subject, true)
    }

    /// [`OsRegex::find`]; `shortcuts` skips alternatives whose literals are absent and lets the
    /// matcher jump over bytes that cannot change its state (only tests turn it off, to prove
    /// it changes nothing).
    fn find_with<'t>(&self, subject: Subject<'t, '_>, shortcuts: bool) -> Option<Match<'t>> {
        let input = subject.text();
        let mut marks = Vec::new();
        for alt in &self.alternatives {
            // The prefix test is cheapest; then the literal scans, which pay off even for anchored
            // alternatives: Wazuh's restart points let `^a \S+ b` walk the whole input.
            if shortcuts
                && let Some(prefix) = &alt.prefix
                && !subject.lower().starts_with(prefix)
            {
                continue;
            }
            if shortcuts && !alt.needles.iter().all(|n| n.find(&subject).is_some()) {
                continue;
            }
            marks.clear();
            if self.captures {
                marks.resize(alt.parens.len(), None);
            }
            if let Some(end) = run(alt, &subject, &mut marks, shortcuts) {
                let mut captures = Vec::with_capacity(marks.len() / 2);
                for pair in marks.chunks(2) {
                    let (Some(open), Some(&Some(close))) = (pair[0], pair.get(1)) else {
                        break;
                    };
                    // Wazuh cannot allocate a negative-length capture and reports no match.
                    if close < open {
                        return None;
                    }
                    let (open, close) = (clamp(open, input.len()), clamp(close, input.len()));
                    captures.push(&input[open..close]);
                }
                return Some(Match { end, captures });
            }
        }
        None
    }

    /// Whether `input` matches.
    pub fn is_match(&self, input: &[u8]) -> bool {
        self.find(input).is_some()
    }

    /// For each alternative, what any match of it needs from the input: the text it must start
    /// with (anchored, leading literals), else its longest literal run anywhere (the matcher
    /// consumes consecutive literals on consecutive input bytes, ASCII case-insensitively).
    /// `None` when some alternative needs nothing.
    pub fn requirements(&self) -> Option<Vec<Requirement>> {
        self.alternatives
            .iter()
            .map(|a| match &a.prefix {
                Some(prefix) => Some(Requirement::StartsWith(prefix.clone())),
                None => a.runs.iter().max_by_key(|r| r.len()).cloned().map(Requirement::Contains),
            })
            .collect()
    }
}

/// What one alternative needs from the input to match (lower-case literals, compared ASCII
/// case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// The input starts with these bytes.
    StartsWith(Vec<u8>),
    /// The input contains these bytes.
    Contains(Vec<u8>),
}

/// The literal bytes an anchored alternative starts with (after an opening parenthesis). A
/// second parenthesis right after the first is compared as a literal `(` by Wazuh's matcher, so
/// the run stops there.
fn leading_literal(code: &[u8]) -> Option<Vec<u8>> {
    let start = usize::from(code.first() == Some(&PAREN));
    let run: Vec<u8> = code[start..].iter().take_while(|&&b| b != b'\\' && b != PAREN).copied().collect();
    (!run.is_empty()).then_some(run)
}

/// The literal runs of an encoded alternative that every match contains, in order. Runs break
/// at escapes and parentheses. A last literal byte right after an unquantified escape is left
/// out: Wazuh's matcher can succeed on `\X c` at the end of a pattern without reading `c`.
fn literal_runs(code: &[u8]) -> Vec<Vec<u8>> {
    let mut runs = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut push = |from: usize, to: usize| {
        if to > from {
            runs.push(code[from..to].to_vec());
        }
    };
    while i < code.len() {
        match code[i] {
            b'\\' => {
                push(start, i);
                i += 2;
                if code.get(i).copied().is_some_and(is_plus) {
                    i += 1;
                }
                start = i.min(code.len());
            }
            PAREN => {
                push(start, i);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    let n = code.len();
    let optional_last = n >= 3 && code[n - 3] == b'\\' && start == n - 1;
    if !optional_last {
        push(start, n);
    }
    runs
}

fn clamp(pos: isize, len: usize) -> usize {
    usize::try_from(pos).unwrap_or(0).min(len)
}

/// Splits on `|` (already checked to be at depth 0); an escaped `\|` is a code byte, not a `|`.
fn split_alternatives(encoded: &[u8]) -> Vec<Vec<u8>> {
    let mut parts = vec![Vec::new()];
    let mut i = 0;
    while i < encoded.len() {
        match encoded[i] {
            b'\\' => {
                if let Some(part) = parts.last_mut() {
                    part.extend_from_slice(&encoded[i..(i + 2).min(encoded.len())]);
                }
                i += 2;
                continue;
            }
            b'|' => parts.push(Vec::new()),
            c => {
                if let Some(part) = parts.last_mut() {
                    part.push(c);
                }
            }
        }
        i += 1;
    }
    parts
}

fn compile_alternative(mut code: Vec<u8>) -> Alternative {
    let begin = code.first() == Some(&b'^');
    if begin {
        code.remove(0);
    }
    // `$` anchors only as the last byte (`\$` was encoded as a code byte).
    let end = code.last() == Some(&b'$');
    if end {
        code.pop();
    }
    let mut parens = Vec::new();
    let mut i = 0;
    while i < code.len() {
        if code[i] == b'\\' {
            i += 2;
            continue;
        }
        if code[i] == PAREN {
            parens.push(i);
        }
        i += 1;
    }
    let runs = literal_runs(&code);
    let mut distinct: Vec<&Vec<u8>> = runs.iter().collect();
    distinct.sort();
    distinct.dedup();
    let needles = distinct.into_iter().map(|r| Literal::new(r)).collect();
    let prefix = if begin { leading_literal(&code) } else { None };
    let lead = Lead::of(&code);
    let lead_useful = lead.useful();
    code.extend_from_slice(&[0; PAD]);
    let mut paren_index = vec![u16::MAX; code.len()];
    for (k, &at) in parens.iter().enumerate() {
        paren_index[at] = u16::try_from(k).unwrap_or(u16::MAX);
    }
    Alternative { code, begin, end, parens, paren_index, runs, prefix, needles, lead, lead_useful }
}

/// What a repeated escape `\\X+`/`\\X*` at `pat[pt]`, already matching, does with the leading
/// bytes of `s` for which Wazuh's loop only steps on.
#[derive(Debug, PartialEq, Eq)]
enum Span {
    /// Bytes of class `X` where the next token (a literal or another escape) does not match,
    /// or where an attempt at the literal run after `\\.+` fails inside the run: each moves
    /// `r_code` on. The second field is where the first such failed attempt sets `st_error`.
    Steps(usize, Option<usize>),
    /// The pattern ends after the repeat: bytes of class `X`, each moving only the mark of the
    /// parenthesis at this position of the pattern, if there is one, to just after it.
    Tail(usize, Option<usize>),
}

/// The [`Span`] of the repeat at `pat[pt]` over `s`, which holds no NUL (the input stops at the
/// first). `slot_free`: whether a restart point can still be saved.
fn repeat_span(pat: &[u8], pt: usize, subject: &Subject<'_, '_>, slot_free: bool) -> Span {
    let s = subject.text();
    let p = |i: usize| pat.get(i).copied().unwrap_or(0);
    let x = p(pt + 1);
    let mut next = pt + 3;
    if p(next) == PAREN {
        next += 1;
    }
    let stop = match p(next) {
        0 => {
            let n = s.iter().position(|&b| !class(x, b)).unwrap_or(s.len());
            return Span::Tail(n, (p(next - 1) == PAREN).then_some(next - 1));
        }
        b'\\' => {
            let y = p(next + 1);
            s.iter().position(|&b| !class(x, b) || class(y, b))
        }
        _ if x == code::ANY && slot_free && next == pt + 3 => {
            let run: Vec<u8> =
                pat[next..].iter().take_while(|&&b| b != 0 && b != b'\\' && b != PAREN).copied().collect();
            let (stop, restart) = past_failed_attempts(&run, subject.lower(), p(pt + 2) == b'*');
            return Span::Steps(stop, restart);
        }
        // `\.+` up to a literal: the next occurrence of that byte, in either case.
        literal if x == code::ANY => memchr::memchr(literal, subject.lower()),
        literal => s.iter().zip(subject.lower()).position(|(&b, &l)| !class(x, b) || l == literal),
    };
    Span::Steps(stop.unwrap_or(s.len()), None)
}

/// Inside `\\.+`/`\\.*` followed directly by the literal `run`: where the loop next tries a run
/// that can get past its end (or runs out of input inside it), and where the first failed try
/// on the way sets `st_error`. A try at `q` that fails inside the run saves a restart point and
/// takes it back, so all it leaves is `st_error` (when the run's second byte matched, in the
/// literal branch) and, for `+`, one byte at `q + 1` taken as the repeat's first again.
fn past_failed_attempts(run: &[u8], lower: &[u8], star: bool) -> (usize, Option<usize>) {
    let mut from = 0;
    let mut restart = None;
    loop {
        let Some(q) = lower.get(from..).and_then(|rest| memchr::memchr(run[0], rest)).map(|i| from + i) else {
            return (lower.len(), restart);
        };
        let matched = run.iter().zip(&lower[q..]).take_while(|(a, b)| a == b).count();
        if matched == run.len() || q + matched >= lower.len() {
            return (q, restart);
        }
        if matched >= 2 {
            restart.get_or_insert(q + 1);
        }
        from = q + if star { 1 } else { 2 };
    }
}

/// Wazuh's `_OS_Regex` on one alternative. Offsets are `isize` because Wazuh's pointers can step
/// one before the input (`st--`).
fn run(alt: &Alternative, subject: &Subject<'_, '_>, marks: &mut [Option<isize>], shortcuts: bool) -> Option<isize> {
    let (s, lowered) = (subject.text(), subject.lower());
    let pat = &alt.code;
    let p = |i: usize| if i < pat.len() { pat[i] } else { 0 };
    // Past either end reads NUL, as the C string does; a negative `i` wraps to a huge index.
    let at = |i: isize| if (i as usize) < s.len() { s[i as usize] } else { 0 };
    let lower = |i: isize| if (i as usize) < s.len() { lowered[i as usize] } else { 0 };
    // Records where a parenthesis sits in the input; a no-op without captures.
    let mark = |marks: &mut [Option<isize>], at_pt: usize, value: isize| {
        let k = alt.paren_index.get(at_pt).copied().unwrap_or(u16::MAX);
        if let Some(slot) = marks.get_mut(usize::from(k)) {
            *slot = Some(value);
        }
    };

    let mut r_code: Option<isize> = Some(0);
    let mut regex_matched = false;
    let mut st_error: Option<isize> = None;
    let mut pt = 0usize;
    // Wazuh's four restart points fill the first free slot and resume from the last used one,
    // which makes them a stack.
    let mut pt_error = [(0usize, 0isize); 4];
    let mut saved = 0usize;
    let mut st: isize = 0;

    // True at the start and after each restart from the pattern's beginning: nothing is saved
    // (no restart point, no `st_error`), so every start where the lead does not match fails the
    // same way Wazuh loops through them, and the scan can jump to the next candidate.
    let mut fresh = true;
    let mut skipped_to: isize = -1;
    while at(st) != 0 {
        if std::mem::take(&mut fresh) && shortcuts {
            let from = usize::try_from(st).unwrap_or(0);
            let next = if alt.lead_useful { alt.lead.next(subject, from) } else { Some(from) };
            if next != Some(from) {
                if alt.begin {
                    return None;
                }
                r_code = None;
                // A start where the leading class fails clears it on the way.
                let skipped = s.get(from..next.unwrap_or(s.len())).unwrap_or_default();
                if alt.lead.class.is_some_and(|c| skipped.iter().any(|&b| !class(c, b))) {
                    regex_matched = false;
                }
                match next {
                    Some(next) => st = isize::try_from(next).unwrap_or(isize::MAX),
                    None => {
                        st = isize::try_from(s.len()).unwrap_or(isize::MAX);
                        break;
                    }
                }
            }
        }
        // `advance` mirrors C's `continue` in `for (..; ++st)`; `stay` is `st--; continue`.
        macro_rules! advance {
            () => {{
                st += 1;
                continue;
            }};
        }
        match p(pt) {
            0 if !alt.end => return r_code,
            PAREN => {
                mark(marks, pt, st);
                pt += 1;
                if p(pt) == 0 && !alt.end {
                    return r_code;
                }
            }
            _ => {}
        }

        if p(pt) == b'\\' {
            // Right after a skip the byte is one the repeat does not just step over.
            if shortcuts && st != skipped_to && (regex_matched || p(pt + 2) == b'*') && is_plus(p(pt + 2)) {
                let from = usize::try_from(st).unwrap_or(0);
                let slot_free = saved < pt_error.len();
                match repeat_span(pat, pt, &subject.suffix(from), slot_free) {
                    Span::Steps(0, _) | Span::Tail(0, _) => {}
                    Span::Steps(n, restart) => {
                        if let Some(at) = restart {
                            st_error.get_or_insert(st + isize::try_from(at).unwrap_or(0));
                        }
                        st += isize::try_from(n).unwrap_or(0);
                        r_code = Some(st - 1);
                        regex_matched = true;
                        skipped_to = st;
                        continue;
                    }
                    Span::Tail(n, paren) => {
                        st += isize::try_from(n).unwrap_or(0);
                        if let Some(at_pt) = paren {
                            mark(marks, at_pt, st);
                        }
                        regex_matched = true;
                        skipped_to = st;
                        continue;
                    }
                }
            }
            if class(p(pt + 1), at(st)) {
                let mut next_pt = pt + 2;
                if !is_plus(p(next_pt)) {
                    pt = next_pt;
                    st_error.get_or_insert(st);
                    r_code = Some(st);
                    advance!();
                }
                if p(next_pt) == b'*' {
                    regex_matched = true;
                }
                if regex_matched {
                    next_pt += 1;
                    let mut ok_here: i32 = -1;
                    if p(next_pt) == PAREN {
                        next_pt += 1;
                    }
                    if p(next_pt) == 0 {
                        ok_here = 1;
                    } else if p(next_pt) == b'\\' {
                        if class(p(next_pt + 1), at(st)) {
                            ok_here = if is_plus(p(next_pt + 2)) { 0 } else { 2 };
                        }
                    } else if p(next_pt) == lower(st) {
                        regex_matched = false;
                        ok_here = 1;
                    }
                    if ok_here >= 0 {
                        if p(next_pt - 1) == PAREN {
                            let value = if regex_matched && ok_here == 1 { st + 1 } else { st };
                            mark(marks, next_pt - 1, value);
                        }
                        if p(next_pt) == 0 {
                            advance!();
                        }
                        next_pt += usize::try_from(ok_here).unwrap_or(0);
                        if let Some(slot) = pt_error.get_mut(saved) {
                            *slot = (pt, st);
                            saved += 1;
                        }
                        pt = next_pt;
                    }
                } else {
                    next_pt += 1;
                    if p(next_pt) == PAREN {
                        let value = if at(st + 1) == 0 { st + 1 } else { st };
                        mark(marks, next_pt, value);
                    }
                    regex_matched = true;
                }
                r_code = Some(st);
                advance!();
            } else if (p(pt + 2) == 0 || p(pt + 3) == 0) && regex_matched && r_code.is_some() {
                r_code = Some(st);
                if !alt.end {
                    return r_code;
                }
            } else if p(pt + 2) == b'+' && regex_matched {
                pt += 3;
                regex_matched = false;
                continue;
            } else if p(pt + 2) == b'*' {
                pt += 3;
                r_code = Some(st - 1);
                regex_matched = false;
                continue;
            }
            regex_matched = false;
        } else if p(pt) == lower(st) {
            pt += 1;
            st_error.get_or_insert(st);
            r_code = Some(st);
            advance!();
        }

        // A mismatch: resume from the latest saved restart point, else from the next start.
        if saved > 0 {
            saved -= 1;
            let (saved_pt, saved_st) = pt_error[saved];
            pt = saved_pt;
            st = saved_st;
            advance!();
        }
        if alt.begin {
            return None;
        }
        if let Some(e) = st_error.take() {
            st = e;
        }
        pt = 0;
        r_code = None;
        st += 1;
        fresh = true;
    }

    // End of input: a last parenthesis closes here.
    if !marks.is_empty() {
        while p(pt) != PAREN && p(pt) != 0 {
            if p(pt) == b'\\' && p(pt + 2) == b'*' {
                pt += 3;
            } else {
                break;
            }
        }
        if p(pt) == PAREN {
            mark(marks, pt, st);
        }
    }
    // What may remain of the pattern: nothing, a `\X+` being matched, or `\X*` tokens.
    let mut q = pt;
    let end_of_pattern = |q: &mut usize| {
        if p(*q) == PAREN {
            *q += 1;
        }
        p(*q) == 0
    };
    if end_of_pattern(&mut q) {
        return r_code;
    }
    // `\X*` then the end; like Wazuh's, it moves `q` as far as it got either way.
    let star_then_end = |q: &mut usize| {
        if p(*q) != b'\\' {
            return false;
        }
        *q += 2;
        if p(*q) != b'*' {
            return false;
        }
        *q += 1;
        end_of_pattern(q)
    };
    if p(q) == b'\\' && regex_matched {
        q += 2;
        if is_plus(p(q)) {
            q += 1;
            if end_of_pattern(&mut q) || star_then_end(&mut q) {
                return r_code;
            }
        }
    }
    if star_then_end(&mut q) {
        return r_code;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(p: &str, s: &str) -> Option<(isize, Vec<String>)> {
        let re = OsRegex::new(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        re.find(s.as_bytes())
            .map(|m| (m.end, m.captures.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect()))
    }

    #[test]
    fn verified_quirks() {
        assert_eq!(find(r"^\d+\.\d+$", "12.5"), None);
        assert_eq!(find(r"^(.+)$", "abc"), None);
        assert_eq!(find(r"^(\w+)-(\w+)$", "ab-cd-ef").map(|m| m.1), Some(vec!["ab".into(), "cd-ef".into()]));
        assert_eq!(find("ab+c", "abbc"), None);
        assert!(find("ab+c", "ab+c").is_some());
        assert_eq!(find(r"\s", "\t"), None);
        assert_eq!(find("^foo|^bar", "xbar"), None);
        assert_eq!(find(r"^foo \S+", "foo barbaz rest").map(|m| m.0), Some(10));
        assert_eq!(find(r"^foo \S+", "foo barbaz").map(|m| m.0), Some(4));
        assert_eq!(find(r"^foo (\d+)", "foo 12345 rest").map(|m| m.0), Some(4));
        assert_eq!(find(r"^foo (\d+) ", "foo 12345 rest").map(|m| m.0), Some(9));
        assert!(find("^()b", "(B").is_some(), "a second parenthesis is a literal `(`");
    }

    #[test]
    fn requirements_per_alternative() {
        use Requirement::{Contains, StartsWith};
        let reqs = |p: &str| OsRegex::new(p).ok().and_then(|r| r.requirements());
        assert_eq!(reqs(r"^Failed (\S+) for"), Some(vec![StartsWith(b"failed ".to_vec())]));
        assert_eq!(reqs(r"^(sshd)\d+ab|xyz\s"), Some(vec![StartsWith(b"sshd".to_vec()), Contains(b"xyz".to_vec())]));
        assert_eq!(reqs(r"^\d+:ab"), Some(vec![Contains(b":ab".to_vec())]));
        assert_eq!(reqs(r"^\d+\s|abc"), None, "an alternative with no literal");
        assert_eq!(reqs(r"a+b"), Some(vec![Contains(b"a+b".to_vec())]), "+ after a literal is a literal");
        assert_eq!(reqs(r"\w+\d\Sc"), None, "a last byte after an escape is optional");
        assert_eq!(find(r"\w+\d\S%", "ab5 x"), Some((3, vec![])), "Wazuh matches without reading the %");
    }

    /// The byte ranges of Wazuh's `regexmap` rows, as dumped from its C table.
    #[test]
    fn class_table_matches_wazuh_regexmap() {
        let rows: [(u8, &[(u8, u8)]); 15] = [
            (code::DIGIT, &[(48, 57)]),
            (code::WORD, &[(45, 45), (48, 57), (64, 90), (95, 95), (97, 122)]),
            (code::SPACE, &[(32, 32)]),
            (code::PUNCT, &[(33, 46), (58, 63), (91, 91), (93, 93), (123, 125)]),
            (code::LPAREN, &[(40, 40)]),
            (code::RPAREN, &[(41, 41)]),
            (code::BACKSLASH, &[(92, 92)]),
            (code::NOT_DIGIT, &[(0, 47), (58, 255)]),
            (code::NOT_WORD, &[(0, 44), (46, 47), (58, 63), (91, 94), (96, 96), (123, 255)]),
            (code::NOT_SPACE, &[(0, 31), (33, 255)]),
            (code::ANY, &[(0, 255)]),
            (code::TAB, &[(9, 9)]),
            (code::DOLLAR, &[(36, 36)]),
            (code::PIPE, &[(124, 124)]),
            (code::LT, &[(60, 60)]),
        ];
        for (code, ranges) in rows {
            for b in 0..=255u8 {
                let expected = ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&b));
                assert_eq!(class(code, b), expected, "code {code} byte {b}");
            }
        }
    }

    #[test]
    fn compile_errors() {
        assert_eq!(OsRegex::new(r"\q"), Err(OsRegexError::BadEscape('q')));
        assert_eq!(OsRegex::new("((a))"), Err(OsRegexError::BadParenthesis));
        assert_eq!(OsRegex::new("(a|b)"), Err(OsRegexError::BadParenthesis));
        assert_eq!(OsRegex::new("(a"), Err(OsRegexError::BadParenthesis));
        assert!(OsRegex::new("a)").is_err());
        assert!(OsRegex::new(r"\\").is_ok());
    }

    #[test]
    fn case_insensitive_literals_raw_classes() {
        assert!(find("FAILED", "failed").is_some());
        assert!(find(r"\d", "x").is_none());
    }

    /// The matcher answers the same with its shortcuts as without them.
    fn same_with_and_without_shortcuts(pattern: &str, input: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        if let Ok(re) = OsRegex::new(pattern) {
            let haystack = Haystack::new(input.as_bytes());
            proptest::prop_assert_eq!(re.find_with(haystack.subject(), true), re.find_with(haystack.subject(), false));
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn never_panics(pattern in r"[\\a-c()|^$+*.dwsp ]{0,16}", input in "[a-c 0-9().+-]{0,24}") {
            if let Ok(re) = OsRegex::new(&pattern) {
                let _ = re.find(input.as_bytes());
            }
        }

        /// Skipping alternatives whose literals are absent, or bytes a repeat takes, never
        /// changes an answer.
        #[test]
        fn shortcuts_are_sound(
            pattern in r"\^?(\\[dwsSpD.()t]|[ab%: ]|[+*]|\(|\)){0,10}\$?",
            input in "[ab%: 0-9A-B()\t]{0,20}",
        ) {
            same_with_and_without_shortcuts(&pattern, &input)?;
        }

        /// The same for `\.+`/`\.*` before a literal run, on text full of near misses.
        #[test]
        fn repeat_before_run_is_sound(
            pattern in r"\^?([ab]|\\[.w]\+?){0,3}(\(?\\\.[+*]\)?[ab]{2,4}){1,3}(\\[.w]\+?|[ab ]){0,2}\$?",
            input in "[ab A]{0,40}",
        ) {
            same_with_and_without_shortcuts(&pattern, &input)?;
        }
    }
}
