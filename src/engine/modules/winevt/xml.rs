//! The subset of Wazuh's os_xml that event XML goes through: elements, quoted attributes, and
//! content (the text after an element's last child). No entities are decoded, comments are
//! skipped, and declarations or CDATA fail the parse, as they do in Wazuh.

/// Longest name, attribute value or content (`XML_MAXSIZE`).
const MAX_TEXT: usize = 20480;
/// Most attributes on one element.
const MAX_ATTRIBUTES: usize = 49;
/// Deepest nesting.
const MAX_DEPTH: usize = 1024;

/// One element.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Node {
    /// Element name.
    pub name: String,
    /// Attributes in order.
    pub attributes: Vec<(String, String)>,
    /// Text after the last child.
    pub content: String,
    /// Child elements.
    pub children: Vec<Node>,
}

struct Reader<'a> {
    s: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn peek(&self) -> u8 {
        self.s.get(self.i).copied().unwrap_or(0)
    }

    fn starts(&self, p: &[u8]) -> bool {
        self.s.get(self.i..).is_some_and(|t| t.starts_with(p))
    }

    fn text(&self, from: usize) -> Option<String> {
        let bytes = self.s.get(from..self.i)?;
        (bytes.len() < MAX_TEXT).then(|| String::from_utf8_lossy(bytes).into_owned())
    }

    /// Skips a comment (`<!` up to `-->` or `!>`).
    fn comment(&mut self) -> Option<()> {
        while self.i < self.s.len() {
            if self.starts(b"-->") {
                self.i += 3;
                return Some(());
            }
            if self.starts(b"!>") {
                self.i += 2;
                return Some(());
            }
            self.i += 1;
        }
        None
    }

    fn name(&mut self) -> Option<String> {
        let start = self.i;
        while !matches!(self.peek(), 0 | b' ' | b'\t' | b'\n' | b'\r' | b'/' | b'>' | b'=') {
            self.i += 1;
        }
        let name = self.text(start)?;
        (!name.is_empty()).then_some(name)
    }

    fn spaces(&mut self) {
        while matches!(self.peek(), b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    /// An element, `<` already consumed.
    fn element(&mut self, depth: usize) -> Option<Node> {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut node = Node { name: self.name()?, ..Node::default() };
        loop {
            self.spaces();
            match self.peek() {
                b'/' if self.starts(b"/>") => {
                    self.i += 2;
                    return Some(node);
                }
                b'>' => {
                    self.i += 1;
                    break;
                }
                0 => return None,
                _ => {
                    let key = self.name()?;
                    self.spaces();
                    if self.peek() != b'=' {
                        return None;
                    }
                    self.i += 1;
                    self.spaces();
                    let quote = self.peek();
                    if quote != b'\'' && quote != b'"' {
                        return None;
                    }
                    self.i += 1;
                    let start = self.i;
                    while self.peek() != quote {
                        if self.peek() == 0 {
                            return None;
                        }
                        self.i += 1;
                    }
                    let value = self.text(start)?;
                    self.i += 1;
                    if node.attributes.len() >= MAX_ATTRIBUTES || node.attributes.iter().any(|(k, _)| *k == key) {
                        return None;
                    }
                    node.attributes.push((key, value));
                }
            }
        }
        let mut start = self.i;
        loop {
            while self.peek() != b'<' {
                if self.peek() == 0 {
                    return None;
                }
                self.i += 1;
            }
            let text_end = self.i;
            self.i += 1;
            if self.peek() == b'/' {
                self.i += 1;
                let close = self.name()?;
                self.spaces();
                if close != node.name || self.peek() != b'>' {
                    return None;
                }
                self.i += 1;
                let content = self.s.get(start..text_end)?;
                if content.len() >= MAX_TEXT {
                    return None;
                }
                node.content = String::from_utf8_lossy(content).into_owned();
                return Some(node);
            }
            if self.peek() == b'!' {
                self.comment()?;
                continue;
            }
            if self.peek() == b'?' {
                return None;
            }
            node.children.push(self.element(depth + 1)?);
            start = self.i;
        }
    }
}

/// The first root element of `text`, or `None` when os_xml would refuse the document.
pub fn parse(text: &str) -> Option<Node> {
    let mut r = Reader { s: text.as_bytes(), i: 0 };
    let mut root = None;
    while r.i < r.s.len() {
        if r.peek() != b'<' {
            r.i += 1;
            continue;
        }
        r.i += 1;
        match r.peek() {
            b'!' => r.comment()?,
            b'?' => return None,
            _ => {
                let node = r.element(0)?;
                root.get_or_insert(node);
            }
        }
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_attributes_and_content_after_the_last_child() {
        let root = parse("\"<E a='1'><S><X b='2'/>tail</S><D>v &amp; w</D></E>\"").expect("parses");
        assert_eq!(root.name, "E");
        assert_eq!(root.attributes, vec![("a".to_owned(), "1".to_owned())]);
        assert_eq!(root.children[0].content, "tail");
        assert_eq!(root.children[0].children[0].attributes[0].1, "2");
        assert_eq!(root.children[1].content, "v &amp; w", "entities stay as they are");
    }

    #[test]
    fn what_os_xml_refuses() {
        assert!(parse("<?xml version='1.0'?><E/>").is_none());
        assert!(parse("<E><![CDATA[x]]></E>").is_none());
        assert!(parse("<E><A></B></E>").is_none());
        assert!(parse("<E a='1' a='2'/>").is_none());
        assert!(parse("<E>unclosed").is_none());
        let deep = "<a>".repeat(2000);
        assert!(parse(&deep).is_none());
    }
}
