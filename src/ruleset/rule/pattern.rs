//! A rule element's pattern (engine.md §4.4): `type=` picks the dialect (the element's default
//! otherwise), `negate=` inverts; repeated elements concatenate their content with nothing in
//! between, and `type`/`negate` come from the last one.

use crate::ruleset::regex::{Dialect, Expression, Subject};
use crate::xml::Element;

/// Longest content one element may add (`OS_SIZE_2048`).
const MAX_PART: usize = 2048;

/// What an element compares with when no `type=` is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    /// One of Wazuh's three dialects.
    Dialect(Dialect),
    /// An exact, case-sensitive comparison (`<action>`).
    Exact,
}

/// Why a pattern cannot be built. Warnings leave the element in place; errors drop the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// An invalid `type=` or `negate=` value: warned, the default is used.
    #[error("(7600): Invalid value '{value}' for attribute '{attribute}' in rule {rule}.")]
    Attribute {
        /// The value given.
        value: String,
        /// `type` or `negate`.
        attribute: &'static str,
        /// The rule.
        rule: u32,
    },
    /// One element's content is too long.
    #[error("(1104): Maximum string size reached for: {0}.")]
    TooLong(String),
    /// The pattern does not compile.
    #[error("(5107): Syntax error on tag '{element}' in rule {rule}")]
    Syntax {
        /// The element name.
        element: String,
        /// The rule.
        rule: u32,
    },
}

impl PatternError {
    /// Whether the rule still loads.
    pub fn is_warning(&self) -> bool {
        matches!(self, Self::Attribute { .. })
    }
}

#[derive(Debug, Clone)]
enum Test {
    Expression(Expression),
    Exact(String),
}

/// A compiled rule condition on one text.
#[derive(Debug, Clone)]
pub struct Pattern {
    test: Test,
    negate: bool,
}

/// Collects the repeated elements of one kind in a rule, then compiles them.
#[derive(Debug, Clone)]
pub struct PatternBuilder {
    default: Default,
    rule: u32,
    content: String,
    /// Elements added so far.
    parts: usize,
    kind: Default,
    negate: bool,
    warnings: Vec<PatternError>,
}

impl PatternBuilder {
    /// A builder for rule `rule`, with the element's default comparison.
    pub fn new(default: Default, rule: u32) -> Self {
        Self { default, rule, content: String::new(), parts: 0, kind: default, negate: false, warnings: Vec::new() }
    }

    /// Adds one element: its content is appended, its attributes replace the earlier ones.
    pub fn add(&mut self, element: &Element) -> Result<(), PatternError> {
        let size = element.text.len();
        let too_long =
            if self.parts == 0 { size >= MAX_PART } else { size > MAX_PART || self.content.len() > MAX_PART };
        if too_long {
            return Err(PatternError::TooLong(element.text.clone()));
        }
        self.parts += 1;
        self.content.push_str(&element.text);
        self.kind = match element.attr("type") {
            None => self.default,
            Some(value) => Dialect::parse(value).map(Default::Dialect).unwrap_or_else(|| {
                self.warnings.push(self.invalid(value, "type"));
                self.default
            }),
        };
        self.negate = match element.attr("negate") {
            None => false,
            Some(value) if value.eq_ignore_ascii_case("yes") => true,
            Some(value) if value.eq_ignore_ascii_case("no") => false,
            Some(value) => {
                self.warnings.push(self.invalid(value, "negate"));
                false
            }
        };
        Ok(())
    }

    fn invalid(&self, value: &str, attribute: &'static str) -> PatternError {
        PatternError::Attribute { value: value.to_owned(), attribute, rule: self.rule }
    }

    /// Whether no element was added.
    pub fn is_empty(&self) -> bool {
        self.parts == 0
    }

    /// Compiles the collected content; `element` names the element in the error. Returns the
    /// pattern and the warnings met on the way.
    pub fn build(self, element: &str) -> Result<(Pattern, Vec<PatternError>), PatternError> {
        let test = match self.kind {
            Default::Exact => Test::Exact(self.content),
            // Rules compile without substring capture (flags 0).
            Default::Dialect(dialect) => Test::Expression(
                Expression::new(dialect, &self.content, false)
                    .map_err(|_| PatternError::Syntax { element: element.to_owned(), rule: self.rule })?,
            ),
        };
        Ok((Pattern { test, negate: self.negate }, self.warnings))
    }
}

impl Pattern {
    /// Whether `text` (up to its first NUL, as C sees it) passes, negation applied. The
    /// lowercase copy the Wazuh dialects compare against is made in `scratch`, and not at all
    /// for PCRE2 and exact comparisons.
    pub fn matches_text(&self, text: &[u8], scratch: &mut Vec<u8>) -> bool {
        let text = &text[..memchr::memchr(0, text).unwrap_or(text.len())];
        let found = match &self.test {
            Test::Exact(t) => text == t.as_bytes(),
            Test::Expression(Expression::Pcre2(p)) => p.is_match(text),
            Test::Expression(e) => {
                scratch.clear();
                scratch.extend(text.iter().map(u8::to_ascii_lowercase));
                e.find_in(Subject::from_parts(text, scratch)).is_some()
            }
        };
        found != self.negate
    }

    /// Lowercase literals one of which must occur in the text for this pattern to pass (only
    /// for plain OS_Match patterns); `None` when no such set is known.
    pub fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        match &self.test {
            Test::Expression(Expression::OsMatch(m)) if !self.negate => m.required_literals(),
            _ => None,
        }
    }

    /// Whether `subject` passes, negation applied.
    pub fn matches(&self, subject: &Subject<'_, '_>) -> bool {
        let found = match &self.test {
            Test::Expression(e) => e.find_in(*subject).is_some(),
            Test::Exact(text) => subject.text() == text.as_bytes(),
        };
        found != self.negate
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::regex::Haystack;
    use crate::xml::Document;

    fn build(xml: &str, default: Default) -> Result<(Pattern, Vec<PatternError>), PatternError> {
        let doc = Document::parse(xml).unwrap_or_else(|e| panic!("{e:?}"));
        let mut builder = PatternBuilder::new(default, 100_001);
        for element in doc.roots() {
            builder.add(element)?;
        }
        builder.build("match")
    }

    fn matches(p: &Pattern, text: &str) -> bool {
        p.matches(&Haystack::new(text.as_bytes()).subject())
    }

    #[test]
    fn repeats_concatenate_and_the_last_attributes_win() {
        let (p, warnings) =
            build("<match>Failed |</match><match negate=\"YES\">Accepted</match>", Default::Dialect(Dialect::OsMatch))
                .expect("builds");
        assert!(warnings.is_empty());
        assert!(!matches(&p, "sshd: failed password"), "negated OS_Match of `Failed |Accepted`");
        assert!(matches(&p, "something else"));
        let (p, _) = build("<match type=\"pcre2\">^a\\d+$</match>", Default::Dialect(Dialect::OsMatch)).expect("pcre2");
        assert!(matches(&p, "a42") && !matches(&p, "A42"));
    }

    #[test]
    fn exact_default_and_invalid_attributes() {
        let (p, warnings) =
            build("<action type=\"fuzzy\" negate=\"maybe\">DROP</action>", Default::Exact).expect("builds");
        assert!(matches(&p, "DROP") && !matches(&p, "drop") && !matches(&p, "DROPPED"));
        assert_eq!(
            warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
            vec![
                "(7600): Invalid value 'fuzzy' for attribute 'type' in rule 100001.",
                "(7600): Invalid value 'maybe' for attribute 'negate' in rule 100001."
            ]
        );
        assert!(warnings.iter().all(PatternError::is_warning));
        let (p, _) = build("<action type=\"osmatch\">drop</action>", Default::Exact).expect("osmatch");
        assert!(matches(&p, "DROP"), "an explicit type replaces the exact default");
    }

    #[test]
    fn syntax_errors_name_the_element_and_rule() {
        let err = build("<regex>(a</regex>", Default::Dialect(Dialect::OsRegex)).err();
        assert_eq!(err.map(|e| e.to_string()), Some("(5107): Syntax error on tag 'match' in rule 100001".into()));
        let long = format!("<match>{}</match>", "x".repeat(MAX_PART));
        assert!(matches!(build(&long, Default::Dialect(Dialect::OsMatch)), Err(PatternError::TooLong(_))));
    }
}
