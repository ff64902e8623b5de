//! The text a pattern reads, with its ASCII-lowercase copy.
//!
//! Every dialect compares literals ASCII case-insensitively. Lowering the text once per event,
//! rather than per pattern and per byte, lets every literal search be an exact, vectorised
//! substring search over the copy, shared by all the patterns tried on that event.

/// Owns the lowercase copy of a text; [`Haystack::subject`] lends both out.
#[derive(Debug, Clone)]
pub struct Haystack<'t> {
    text: &'t [u8],
    lower: Vec<u8>,
}

impl<'t> Haystack<'t> {
    /// The text up to its first NUL (what Wazuh's C code sees) and its lowercase copy.
    pub fn new(text: &'t [u8]) -> Self {
        let text = &text[..memchr::memchr(0, text).unwrap_or(text.len())];
        Self { text, lower: text.to_ascii_lowercase() }
    }

    /// The whole text, to match against.
    pub fn subject(&self) -> Subject<'t, '_> {
        Subject { text: self.text, lower: &self.lower }
    }
}

/// A text to match (no NUL in it) and its lowercase copy, byte for byte. Matches borrow from the
/// text (`'t`), not from the copy (`'l`).
#[derive(Debug, Clone, Copy)]
pub struct Subject<'t, 'l> {
    text: &'t [u8],
    lower: &'l [u8],
}

impl<'t, 'l> Subject<'t, 'l> {
    /// A subject from a text (already cut at its NUL) and its lowercase copy, which the caller
    /// keeps (to reuse one buffer across many short texts).
    pub fn from_parts(text: &'t [u8], lower: &'l [u8]) -> Self {
        debug_assert_eq!(text.len(), lower.len());
        Self { text, lower }
    }

    /// The text.
    pub fn text(&self) -> &'t [u8] {
        self.text
    }

    /// Its ASCII-lowercase copy.
    pub fn lower(&self) -> &'l [u8] {
        self.lower
    }

    /// The text from byte `from` on; empty past the end.
    pub fn suffix(&self, from: usize) -> Self {
        let from = from.min(self.text.len());
        Self { text: &self.text[from..], lower: &self.lower[from..] }
    }
}

/// A lowercase literal, searched for in a [`Subject`]'s lowercase copy.
#[derive(Debug, Clone)]
pub struct Literal(memchr::memmem::Finder<'static>);

impl Literal {
    /// A search for `lower`, which must already be lower case.
    pub fn new(lower: &[u8]) -> Self {
        Self(memchr::memmem::Finder::new(lower).into_owned())
    }

    /// The literal.
    pub fn bytes(&self) -> &[u8] {
        self.0.needle()
    }

    /// Where it first occurs in `subject`.
    pub fn find(&self, subject: &Subject<'_, '_>) -> Option<usize> {
        self.find_in(subject.lower)
    }

    /// Where it first occurs in the lowercase text `lower`.
    pub fn find_in(&self, lower: &[u8]) -> Option<usize> {
        self.0.find(lower)
    }

    /// Whether `subject` starts with it.
    pub fn starts(&self, subject: &Subject<'_, '_>) -> bool {
        subject.lower.starts_with(self.bytes())
    }
}

impl PartialEq for Literal {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for Literal {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_at_nul_and_lowered() {
        let haystack = Haystack::new(b"AbC\0dEf");
        let subject = haystack.subject();
        assert_eq!(subject.text(), b"AbC");
        assert_eq!(subject.lower(), b"abc");
        assert_eq!(subject.suffix(1).text(), b"bC");
        assert_eq!(subject.suffix(1).lower(), b"bc");
        assert!(subject.suffix(9).text().is_empty());
    }

    #[test]
    fn literal_search_ignores_case() {
        let haystack = Haystack::new(b"Failed PASSWORD for");
        let literal = Literal::new(b"password");
        assert_eq!(literal.find(&haystack.subject()), Some(7));
        assert!(literal.starts(&haystack.subject().suffix(7)));
        assert!(!literal.starts(&haystack.subject()));
    }
}
