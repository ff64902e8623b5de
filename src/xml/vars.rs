//! `<var name="X">value</var>` and `$X` substitution (Wazuh's `OS_ApplyVariables`).
//!
//! A definition applies to everything after it in the same file, in document order (an element,
//! then its attributes, then its children). Only text longer than two characters is scanned.

use super::{Element, XmlError};

/// Longest variable name or definition Wazuh accepts (`XML_VARIABLE_MAXSIZE`).
const MAX_NAME: usize = 256;

struct Scope {
    defined: Vec<(String, String)>,
}

pub(super) fn apply(roots: &mut [Element]) -> Result<(), XmlError> {
    let mut scope = Scope { defined: Vec::new() };
    roots.iter_mut().try_for_each(|e| scope.visit(e))
}

impl Scope {
    fn visit(&mut self, element: &mut Element) -> Result<(), XmlError> {
        if element.is_variable() {
            return self.define(element);
        }
        let line = element.line;
        element.text = self.substitute(&element.text, line)?;
        for attr in &mut element.attributes {
            attr.value = self.substitute(&attr.value, line)?;
        }
        element.nodes.iter_mut().try_for_each(|e| self.visit(e))
    }

    fn define(&mut self, var: &Element) -> Result<(), XmlError> {
        let error = |message: &str| XmlError::new(var.line, message);
        let Some(attr) = var.attributes.first() else {
            return Err(error("XMLERR: No value set for variable."));
        };
        if !attr.name.eq_ignore_ascii_case("name") {
            return Err(error("XMLERR: Only \"name\" is allowed as an attribute for a variable."));
        }
        if attr.value.len() >= MAX_NAME {
            return Err(error("XMLERR: Invalid variable name size."));
        }
        self.defined.push((attr.value.clone(), var.text.clone()));
        Ok(())
    }

    fn lookup(&self, name: &str) -> Option<&str> {
        self.defined.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn substitute(&self, text: &str, line: u32) -> Result<String, XmlError> {
        if text.len() <= 2 || self.defined.is_empty() || !text.contains('$') {
            return Ok(text.to_owned());
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let end = after.find(['$', '.', '|', ',', ' ']).unwrap_or(after.len());
            let name = &after[..end];
            if name.len() >= MAX_NAME - 1 {
                return Err(XmlError::new(line, format!("XMLERR: Invalid variable name size: '{}'.", MAX_NAME - 1)));
            }
            match self.lookup(name) {
                Some(value) => out.push_str(value),
                // `$(field)` belongs to rule descriptions and passes through untouched.
                None if name.is_empty() || name.starts_with('(') => {
                    out.push('$');
                    out.push_str(name);
                }
                None => {
                    let shown: String = name.chars().take(95).collect();
                    return Err(XmlError::new(line, format!("XMLERR: Unknown variable: '{shown}'.")));
                }
            }
            rest = &after[end..];
        }
        out.push_str(rest);
        Ok(out)
    }
}
