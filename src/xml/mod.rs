//! Wazuh's lenient XML dialect (its `os_xml` library), used by `ossec.conf`, decoders and rules.
//!
//! General XML parsers reject the stock ruleset: Wazuh has no entity decoding, keeps text raw and
//! untrimmed, treats `\<` as text, allows many root elements and strips comments inside text.
//! This module reproduces those rules (see `parse.rs`) and `<var>` substitution (`vars.rs`).

mod parse;
mod vars;

use std::fmt;
use std::path::Path;

/// Largest element name, text or attribute value Wazuh accepts (`XML_MAXSIZE`).
pub const MAX_TOKEN: usize = 20480;

/// An XML error with the line Wazuh would report and Wazuh's own message text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (line {line})")]
pub struct XmlError {
    /// 1-based line where the parser stood when it gave up.
    pub line: u32,
    /// Wazuh's message, e.g. `XMLERR: Element 'rule' not closed.`
    pub message: String,
}

impl XmlError {
    fn new(line: u32, message: impl Into<String>) -> Self {
        Self { line, message: message.into() }
    }
}

/// One attribute, with its raw value (quotes removed, nothing decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Attribute name as written.
    pub name: String,
    /// Raw value.
    pub value: String,
}

/// One element: name, attributes, raw text and children, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Element name as written (case preserved).
    pub name: String,
    /// Attributes in the order written.
    pub attributes: Vec<Attribute>,
    /// Raw text: what follows the last child up to the closing tag, comments removed.
    pub text: String,
    /// Child elements, `<var>` definitions included (see [`Element::children`]).
    nodes: Vec<Element>,
    /// Line of the element's name.
    pub line: u32,
}

impl Element {
    /// Whether this element is a `<var>` definition rather than content.
    pub fn is_variable(&self) -> bool {
        self.name.eq_ignore_ascii_case("var")
    }

    /// Child elements, excluding `<var>` definitions (Wazuh never hands those to readers).
    pub fn children(&self) -> impl Iterator<Item = &Element> {
        self.nodes.iter().filter(|e| !e.is_variable())
    }

    /// Value of the attribute `name` (exact, case-sensitive match as in Wazuh).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|a| a.name == name).map(|a| a.value.as_str())
    }
}

/// A parsed file: its root elements in order, `<var>` definitions included.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    roots: Vec<Element>,
}

impl Document {
    /// Parses `input` with Wazuh's rules.
    pub fn parse(input: &str) -> Result<Self, XmlError> {
        parse::parse(input).map(|roots| Self { roots })
    }

    /// Reads and parses a file; an unreadable file gets Wazuh's "not found" message.
    pub fn read(path: &Path) -> Result<Self, XmlError> {
        let bytes = std::fs::read(path)
            .map_err(|_| XmlError::new(0, format!("XMLERR: File '{}' not found.", path.display())))?;
        Self::parse(&String::from_utf8_lossy(&bytes))
    }

    /// Root elements, excluding `<var>` definitions.
    pub fn roots(&self) -> impl Iterator<Item = &Element> {
        self.roots.iter().filter(|e| !e.is_variable())
    }

    /// Applies `<var name="X">` definitions to the text and attributes that follow them, as
    /// rule and decoder files do (ossec.conf does not).
    pub fn apply_variables(&mut self) -> Result<(), XmlError> {
        vars::apply(&mut self.roots)
    }
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.name)
    }
}

#[cfg(test)]
mod tests;
