//! The `os_xml` state machine: one recursive reader per element, byte by byte, with Wazuh's
//! backslash, comment and attribute rules and its error messages.

use super::{Attribute, Element, MAX_TOKEN, XmlError};

/// Deepest nesting Wazuh reads before giving up.
const MAX_DEPTH: usize = 1024;
/// Most attributes one element may carry (`XML_MAX_ATTR_DEPTH`).
const MAX_ATTRIBUTES: u32 = 48;
/// Characters Wazuh can push back (`XML_STASH_LEN`).
const STASH: usize = 2;

pub(super) fn parse(input: &str) -> Result<Vec<Element>, XmlError> {
    let mut reader = Reader { input: input.as_bytes(), pos: 0, stash: Vec::new(), line: 1 };
    reader.document()
}

/// What one character did to the innermost frame.
enum Step {
    /// Nothing structural.
    Continue,
    /// A child element starts: push a frame.
    Open,
    /// The frame's element is complete.
    Closed(Element),
}

/// One open element's reader state (Wazuh's `_ReadElem` locals).
#[derive(Default)]
struct Frame {
    place: Place,
    /// After an odd number of backslashes, `<` does not open a tag.
    escaped: bool,
    name: Vec<u8>,
    content: Vec<u8>,
    closing: Vec<u8>,
    current: Option<Element>,
}

/// Where an element reader stands (Wazuh's `location`).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
enum Place {
    /// Between elements.
    #[default]
    Outside,
    /// Reading the element name.
    Name,
    /// Reading text content.
    Text,
    /// Reading the name in a closing tag.
    Closing,
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    /// Pushed-back characters; `None` is a pushed-back end of input.
    stash: Vec<Option<u8>>,
    line: u32,
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn text(bytes: &[u8]) -> String {
    // Content is a C string in Wazuh: a NUL ends it.
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

impl Reader<'_> {
    fn getc(&mut self) -> Option<u8> {
        let c = match self.stash.pop() {
            Some(c) => c,
            None => {
                let c = self.input.get(self.pos).copied();
                self.pos += usize::from(c.is_some());
                c
            }
        };
        if c == Some(b'\n') {
            self.line += 1;
        }
        c
    }

    fn ungetc(&mut self, c: Option<u8>) {
        // A full stash silently drops the character, as Wazuh's does.
        if self.stash.len() < STASH {
            self.stash.push(c);
            if c == Some(b'\n') {
                self.line -= 1;
            }
        }
    }

    fn error(&self, message: impl Into<String>) -> XmlError {
        XmlError::new(self.line, message)
    }

    /// After a `<`: skips a `<! ... !>` or `<!-- ... -->` comment. `Ok(true)` when one was skipped.
    fn comment(&mut self) -> Result<bool, XmlError> {
        let c = self.getc();
        if c != Some(b'!') {
            self.ungetc(c);
            return Ok(false);
        }
        loop {
            match self.getc() {
                None => return Err(self.error("XMLERR: Comment not closed.")),
                Some(b'!') => {
                    let c = self.getc();
                    if c == Some(b'>') {
                        return Ok(true);
                    }
                    self.ungetc(c);
                }
                Some(b'-') => {
                    let mut c = self.getc();
                    if c == Some(b'-') {
                        c = self.getc();
                        if c == Some(b'>') {
                            return Ok(true);
                        }
                        self.ungetc(c);
                    }
                    // Wazuh pushes the character back a second time here; keep that quirk, it
                    // decides whether `--->` ends a comment.
                    self.ungetc(c);
                }
                Some(_) => {}
            }
        }
    }

    /// Reads every root element. Nesting is an explicit stack of frames (one per open element,
    /// as Wazuh's recursive reader has), so depth costs heap, not native stack.
    fn document(&mut self) -> Result<Vec<Element>, XmlError> {
        let mut roots = Vec::new();
        let mut frames = vec![Frame::default()];
        loop {
            let depth = frames.len() - 1;
            let Some(frame) = frames.last_mut() else {
                return Ok(roots);
            };
            let Some(c) = self.getc() else {
                return if depth == 0 && frame.place == Place::Outside {
                    Ok(roots)
                } else {
                    Err(self.error("XMLERR: End of file and some elements were not closed."))
                };
            };
            match self.step(frame, c)? {
                Step::Continue => {}
                Step::Open => {
                    if frames.len() >= MAX_DEPTH {
                        return Err(self.error("XMLERR: Max recursion level reached"));
                    }
                    frames.push(Frame::default());
                }
                Step::Closed(element) if depth == 0 => roots.push(element),
                Step::Closed(element) => {
                    frames.pop();
                    let Some(parent) = frames.last_mut().and_then(|f| f.current.as_mut()) else {
                        return Err(self.error("XMLERR: Element not opened."));
                    };
                    parent.nodes.push(element);
                    // Text before a child is dropped: Wazuh keeps only what follows the last one.
                    if let Some(frame) = frames.last_mut() {
                        frame.content.clear();
                    }
                }
            }
        }
    }

    /// Feeds one character to the innermost open frame.
    fn step(&mut self, frame: &mut Frame, c: u8) -> Result<Step, XmlError> {
        if c == b'\\' {
            frame.escaped = !frame.escaped;
        } else if c != b'<' && frame.escaped {
            frame.escaped = false;
        }
        let len = match frame.place {
            Place::Outside => 0,
            Place::Name => frame.name.len(),
            Place::Text => frame.content.len(),
            Place::Closing => frame.closing.len(),
        };
        if len >= MAX_TOKEN {
            return Err(self.error("XMLERR: String overflow."));
        }
        if c == b'<' && self.comment()? {
            return Ok(Step::Continue);
        }

        if frame.place == Place::Outside && !frame.escaped {
            if c == b'<' {
                let next = self.getc();
                if next == Some(b'/') {
                    return Err(self.error("XMLERR: Element not opened."));
                }
                self.ungetc(next);
                frame.place = Place::Name;
            }
        } else if frame.place == Place::Name && (c == b'>' || is_space(c)) {
            let self_closed = frame.name.last() == Some(&b'/');
            if self_closed {
                frame.name.pop();
            }
            let mut element = Element {
                name: text(&frame.name),
                attributes: Vec::new(),
                text: String::new(),
                nodes: Vec::new(),
                line: self.line,
            };
            frame.name.clear();
            let attrs_closed = is_space(c) && self.attributes(&mut element.attributes, 0)?;
            if self_closed || attrs_closed {
                frame.place = Place::Outside;
                return Ok(Step::Closed(element));
            }
            frame.current = Some(element);
            frame.place = Place::Text;
        } else if frame.place == Place::Closing && c == b'>' {
            let Some(mut element) = frame.current.take() else {
                return Err(self.error("XMLERR: Element not opened."));
            };
            if frame.closing.as_slice() != element.name.as_bytes() {
                return Err(self.error(format!("XMLERR: Element '{}' not closed.", element.name)));
            }
            element.text = text(&frame.content);
            frame.content.clear();
            frame.closing.clear();
            frame.place = Place::Outside;
            return Ok(Step::Closed(element));
        } else if frame.place == Place::Text && c == b'<' && !frame.escaped {
            let next = self.getc();
            if next == Some(b'/') {
                frame.place = Place::Closing;
            } else {
                self.ungetc(next);
                self.ungetc(Some(b'<'));
                return Ok(Step::Open);
            }
        } else {
            match frame.place {
                Place::Name => frame.name.push(c),
                Place::Text => frame.content.push(c),
                Place::Closing => frame.closing.push(c),
                Place::Outside => {}
            }
            if c == b'<' {
                frame.escaped = false;
            }
        }
        Ok(Step::Continue)
    }

    /// Reads attributes after an element name. `Ok(true)` when the element ended with `/`.
    ///
    /// Like Wazuh, the `>` after `/` is left unread, so a nested `<x a="1"/>` adds `>` to its
    /// parent's text.
    fn attributes(&mut self, attrs: &mut Vec<Attribute>, count: u32) -> Result<bool, XmlError> {
        if count > MAX_ATTRIBUTES {
            return Err(self.error("XMLERR: Too many attributes."));
        }
        let mut in_value = false;
        let mut quote = 0u8;
        let mut name: Vec<u8> = Vec::new();
        let mut value: Vec<u8> = Vec::new();
        while let Some(c) = self.getc() {
            let len = if in_value { value.len() } else { name.len() };
            if len >= MAX_TOKEN {
                let shown: String = text(&name).chars().take(20).collect();
                return Err(self.error(format!("XMLERR: Overflow attempt at attribute '{shown}'.")));
            }
            if c == b'>' || (!in_value && c == b'/') {
                if in_value {
                    return Err(self.error(format!("XMLERR: Attribute '{}' not closed.", text(&name))));
                }
                if !name.is_empty() {
                    return Err(self.error(format!("XMLERR: Attribute '{}' has no value.", text(&name))));
                }
                return Ok(c == b'/');
            } else if !in_value && c == b'=' {
                let attr = text(&name);
                if attrs.iter().any(|a| a.name == attr) {
                    return Err(self.error(format!("XMLERR: Attribute '{attr}' already defined.")));
                }
                let mut next = self.getc();
                if next.is_some_and(is_space) {
                    next = loop {
                        match self.getc() {
                            Some(c) if is_space(c) => {}
                            other => break other,
                        }
                    };
                }
                match next {
                    Some(q @ (b'"' | b'\'')) => quote = q,
                    _ => {
                        return Err(self.error(format!("XMLERR: Attribute '{attr}' not followed by a \" or '.")));
                    }
                }
                in_value = true;
            } else if !in_value && is_space(c) {
                if !name.is_empty() {
                    return Err(self.error(format!("XMLERR: Attribute '{}' has no value.", text(&name))));
                }
            } else if in_value && c == quote {
                let attribute = Attribute { name: text(&name), value: text(&value) };
                return match self.getc() {
                    Some(c) if is_space(c) => {
                        attrs.push(attribute);
                        self.attributes(attrs, count + 1)
                    }
                    Some(b'>') => {
                        attrs.push(attribute);
                        Ok(false)
                    }
                    Some(b'/') => {
                        attrs.push(attribute);
                        Ok(true)
                    }
                    _ => Err(self.error(format!(
                        "XMLERR: Bad attribute closing for '{}'='{}'.",
                        attribute.name, attribute.value
                    ))),
                };
            } else if in_value {
                value.push(c);
            } else {
                name.push(c);
            }
        }
        Err(self.error("XMLERR: End of file while reading an attribute."))
    }
}
