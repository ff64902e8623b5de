//! `<decoder>` elements into [`Decoder`]s, with Wazuh's rules (decode-xml.c): element names match
//! case-insensitively except `type`; repeated `parent`, `prematch`, `regex`, `program_name` and
//! `ftscomment` concatenate (at most 1024 bytes); the dialect comes from the last element; only
//! the first `prematch`/`regex` may carry an offset.

use std::sync::Arc;

use super::{Decoder, DecoderType, JsonArray, JsonNull, Offset, Plugin, Slot, StaticField};
use crate::ruleset::regex::{Dialect, Expression};
use crate::xml::{Document, Element};

/// Longest concatenated pattern or name Wazuh keeps (`OS_SIZE_1024`, NUL included).
const MAX_CONTENT: usize = 1023;
/// Most `<order>` fields (`analysisd.decoder_order_size`).
pub const MAX_ORDER: usize = 256;

/// A decoder problem: Wazuh's message, with file, line and decoder name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {}{message}", decoder.as_ref().map(|d| format!("decoder '{d}': ")).unwrap_or_default())]
pub struct DecoderError {
    /// The file.
    pub file: Arc<str>,
    /// Line of the element at fault.
    pub line: u32,
    /// The decoder, when known.
    pub decoder: Option<String>,
    /// What is wrong.
    pub message: String,
    /// Warnings do not drop the decoder.
    pub warning: bool,
}

/// Parses one decoder file. Broken decoders are reported and skipped; a file that is not
/// Wazuh XML yields no decoders and one error.
pub fn parse_file(file: &str, text: &str) -> (Vec<Decoder>, Vec<DecoderError>) {
    let file: Arc<str> = Arc::from(file);
    let mut problems = Vec::new();
    let doc = match Document::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let message = format!("(1226): Error reading XML file: {}", e.message);
            problems.push(DecoderError { file, line: e.line, decoder: None, message, warning: false });
            return (Vec::new(), problems);
        }
    };
    let mut decoders = Vec::new();
    for element in doc.roots() {
        let mut reader = Reader { file: &file, problems: &mut problems, decoder: None, element };
        if let Some(decoder) = reader.decoder() {
            decoders.push(decoder);
        }
    }
    (decoders, problems)
}

struct Reader<'a> {
    file: &'a Arc<str>,
    problems: &'a mut Vec<DecoderError>,
    decoder: Option<String>,
    element: &'a Element,
}

/// Concatenates repeated element text, refusing more than Wazuh keeps.
fn append(target: &mut Option<String>, text: &str) -> bool {
    let total = target.as_ref().map_or(0, String::len) + text.len();
    if total > MAX_CONTENT {
        return false;
    }
    target.get_or_insert_with(String::new).push_str(text);
    true
}

fn offset(el: &Element) -> Result<Offset, ()> {
    match el.attr("offset") {
        None => Ok(Offset::Start),
        Some(v) if v.eq_ignore_ascii_case("after_parent") => Ok(Offset::AfterParent),
        Some(v) if v.eq_ignore_ascii_case("after_prematch") => Ok(Offset::AfterPrematch),
        Some(v) if v.eq_ignore_ascii_case("after_regex") => Ok(Offset::AfterRegex),
        Some(_) => Err(()),
    }
}

/// One `<order>`/`<fts>` item: leading spaces dropped, cut at the first space.
fn word(item: &str) -> &str {
    let item = item.trim_start_matches(' ');
    item.split(' ').next().unwrap_or_default()
}

/// A pattern being assembled from repeated elements.
#[derive(Default)]
struct Pattern {
    text: Option<String>,
    dialect: Option<Dialect>,
    offset: Offset,
}

impl Reader<'_> {
    fn push(&mut self, el: &Element, message: String, warning: bool) {
        let (file, decoder) = (self.file.clone(), self.decoder.clone());
        self.problems.push(DecoderError { file, line: el.line, decoder, message, warning });
    }

    fn error(&mut self, el: &Element, message: impl Into<String>) {
        self.push(el, message.into(), false);
    }

    fn warn(&mut self, el: &Element, message: impl Into<String>) {
        self.push(el, message.into(), true);
    }

    /// `<type=...>` of a pattern element; a missing or wrong one means the element's default.
    fn dialect(&mut self, el: &Element, allowed: &[Dialect], default: Dialect) -> Dialect {
        let Some(value) = el.attr("type") else {
            return default;
        };
        match Dialect::parse(value).filter(|d| allowed.contains(d)) {
            Some(d) => d,
            None => {
                self.warn(el, format!("Invalid value for attribute 'type' in '{}'; using the default.", el.name));
                default
            }
        }
    }

    fn compile(&mut self, el: &Element, pattern: &Pattern, default: Dialect, captures: bool) -> Option<Expression> {
        let text = pattern.text.as_deref()?;
        match Expression::new(pattern.dialect.unwrap_or(default), text, captures) {
            Ok(e) => Some(e),
            Err(e) => {
                self.error(el, format!("(1452): Syntax error on regex: '{text}': {e}"));
                None
            }
        }
    }

    /// Reads the `<decoder>` element; `None` (with errors recorded) when it is broken.
    fn decoder(&mut self) -> Option<Decoder> {
        let el = self.element;
        if !el.name.eq_ignore_ascii_case("decoder") {
            self.error(el, format!("(1230): Invalid element in the configuration: '{}'.", el.name));
            return None;
        }
        let name = match el.attributes.first() {
            Some(a) if a.name.eq_ignore_ascii_case("name") => a.value.clone(),
            _ => {
                self.error(
                    el,
                    "(1230): Invalid element in the configuration: 'decoder' (the first attribute must be 'name').",
                );
                return None;
            }
        };
        self.decoder = Some(name.clone());
        match el.attributes.get(1) {
            Some(a) if !a.name.eq_ignore_ascii_case("status") || el.attributes.len() > 2 => {
                self.error(
                    el,
                    "(1230): Invalid element in the configuration: 'decoder' (only 'status' may follow 'name').",
                );
                return None;
            }
            _ => {}
        }

        let mut parent: Option<String> = None;
        let mut prematch = Pattern::default();
        let mut regex = Pattern::default();
        let mut program_name = Pattern::default();
        let (mut prematch_el, mut regex_el, mut program_el) = (el, el, el);
        let mut ftscomment: Option<String> = None;
        let mut order: Option<Vec<Slot>> = None;
        let mut fts_words: Option<Vec<String>> = None;
        let mut kind = DecoderType::default();
        let mut plugin = None;
        let mut plugin_offset = Offset::Start;
        let (mut accumulate, mut use_own_name) = (false, false);
        let (mut json_null, mut json_array) = (JsonNull::default(), JsonArray::default());
        let mut fts_el = el;

        for child in el.children() {
            let tag = child.name.to_ascii_lowercase();
            let too_long = |r: &mut Self| {
                r.error(child, format!("(1104): Maximum string size reached for: {}.", child.text));
            };
            match tag.as_str() {
                "parent" => {
                    if !append(&mut parent, &child.text) {
                        too_long(self);
                        return None;
                    }
                }
                "regex" | "prematch" => {
                    let is_regex = tag == "regex";
                    let mut at = match offset(child) {
                        Ok(o) => o,
                        Err(()) if is_regex => {
                            self.warn(child, format!("Invalid value for attribute 'offset' in 'regex' of decoder '{name}'; using no offset."));
                            Offset::Start
                        }
                        Err(()) => {
                            self.error(child, format!("Invalid value for attribute 'offset' in 'prematch' of decoder '{name}'; using no offset."));
                            Offset::Start
                        }
                    };
                    let pattern = if is_regex { &mut regex } else { &mut prematch };
                    if pattern.text.is_some() && at != Offset::Start {
                        self.error(child, format!("(2109): Duplicated offsets for same regex: '{name}'."));
                        return None;
                    }
                    if at == Offset::Start {
                        at = pattern.offset;
                    }
                    let dialect = self.dialect(child, &[Dialect::OsRegex, Dialect::Pcre2], Dialect::OsRegex);
                    let pattern = if is_regex { &mut regex } else { &mut prematch };
                    pattern.offset = at;
                    pattern.dialect = Some(dialect);
                    if !append(&mut pattern.text, &child.text) {
                        too_long(self);
                        return None;
                    }
                    if is_regex {
                        regex_el = child;
                    } else {
                        prematch_el = child;
                    }
                }
                "program_name" => {
                    let dialect =
                        self.dialect(child, &[Dialect::OsMatch, Dialect::OsRegex, Dialect::Pcre2], Dialect::OsMatch);
                    program_name.dialect = Some(dialect);
                    if !append(&mut program_name.text, &child.text) {
                        too_long(self);
                        return None;
                    }
                    program_el = child;
                }
                "ftscomment" => {
                    if !append(&mut ftscomment, &child.text) {
                        too_long(self);
                        return None;
                    }
                }
                "use_own_name" => use_own_name |= child.text == "true",
                "plugin_decoder" => {
                    let Some(p) = Plugin::parse(&child.text) else {
                        self.error(
                            child,
                            format!("(2110): Invalid decoder argument for {}: '{}'.", child.name, child.text),
                        );
                        return None;
                    };
                    plugin = Some(p);
                    match offset(child) {
                        Ok(o) if o != Offset::AfterRegex => plugin_offset = o,
                        _ => {
                            self.error(child, format!("(2107): Decoder configuration error: '{name}'."));
                            return None;
                        }
                    }
                }
                "json_null_field" => {
                    json_null = match child.text.to_ascii_lowercase().as_str() {
                        "discard" => JsonNull::Discard,
                        "string" => JsonNull::String,
                        "empty" => {
                            self.warn(child, "The value 'empty' of 'json_null_field' is deprecated; using 'string'.");
                            JsonNull::String
                        }
                        _ => {
                            self.warn(
                                child,
                                format!("Invalid value '{}' for 'json_null_field'; using 'string'.", child.text),
                            );
                            JsonNull::String
                        }
                    }
                }
                "json_array_structure" => {
                    json_array = match child.text.to_ascii_lowercase().as_str() {
                        "csv" => JsonArray::Csv,
                        "array" => JsonArray::Array,
                        _ => {
                            self.warn(
                                child,
                                format!("Invalid value '{}' for 'json_array_structure'; using 'array'.", child.text),
                            );
                            JsonArray::Array
                        }
                    }
                }
                "type" if child.name == "type" => match DecoderType::parse(&child.text) {
                    Some(t) => kind = t,
                    None => {
                        self.error(child, format!("Invalid decoder type '{}'.", child.text));
                        return None;
                    }
                },
                "order" => order = Some(self.order(child)?),
                "accumulate" => accumulate = true,
                "fts" => {
                    fts_words = Some(child.text.split(',').map(|w| word(w).to_owned()).collect());
                    fts_el = child;
                }
                _ => {
                    self.error(child, format!("Invalid element '{}' for decoder '{}'", child.name, el.name));
                    return None;
                }
            }
        }

        let fts = match fts_words {
            Some(words) => self.fts(fts_el, &name, words, order.as_deref())?,
            None => Vec::new(),
        };
        if prematch.text.is_none() && parent.is_none() && program_name.text.is_none() {
            self.error(el, format!("(2108): No 'prematch' found in decoder: '{name}'."));
            return None;
        }
        if (regex.text.is_none() && (!fts.is_empty() || order.is_some())) || (regex.text.is_some() && order.is_none()) {
            self.error(el, format!("(2107): Decoder configuration error: '{name}' (regex and order go together)."));
            return None;
        }
        let mut regex_offset = regex.offset;
        if regex_offset == Offset::AfterParent && parent.is_none() {
            self.error(regex_el, "(2120): Invalid offset value: 'after_parent'");
            return None;
        }
        if regex_offset == Offset::AfterPrematch {
            if parent.is_none() {
                regex_offset = Offset::AfterParent;
            } else if prematch.text.is_none() {
                self.error(regex_el, "(2120): Invalid offset value: 'after_prematch'");
                return None;
            }
        }
        if regex_offset == Offset::AfterRegex && (parent.is_none() || regex.text.is_none()) {
            self.error(regex_el, "(2120): Invalid offset value: 'after_regex'");
            return None;
        }
        match prematch.offset {
            Offset::Start => {}
            Offset::AfterParent if parent.is_some() => {}
            Offset::AfterParent => {
                self.error(prematch_el, "(2120): Invalid offset value: 'after_parent'");
                return None;
            }
            _ => {
                self.error(prematch_el, format!("(2107): Decoder configuration error: '{name}'."));
                return None;
            }
        }
        if plugin_offset == Offset::AfterParent && parent.is_none() {
            self.error(el, "(2120): Invalid offset value: 'after_parent'");
            return None;
        }
        if plugin_offset == Offset::AfterPrematch && prematch.text.is_none() {
            self.error(el, "(2120): Invalid offset value: 'after_prematch'");
            return None;
        }
        let prematch_expr = self.compile(prematch_el, &prematch, Dialect::OsRegex, false);
        if prematch.text.is_some() && prematch_expr.is_none() {
            return None;
        }
        let program_expr = self.compile(program_el, &program_name, Dialect::OsMatch, false);
        if program_name.text.is_some() && program_expr.is_none() {
            return None;
        }
        let regex_expr = self.compile(regex_el, &regex, Dialect::OsRegex, true);
        if regex.text.is_some() && regex_expr.is_none() {
            return None;
        }
        if plugin.is_some() && (regex_expr.is_some() || order.is_some()) {
            self.error(el, format!("(2111): Additional data to plugin decoder: '{name}'."));
            return None;
        }
        let name: Arc<str> = Arc::from(name);
        Some(Decoder {
            own_name: name.clone(),
            name,
            parent: parent.map(Arc::from),
            program_name: program_expr,
            prematch: prematch_expr,
            prematch_offset: prematch.offset,
            regex: regex_expr,
            regex_offset,
            order: order.unwrap_or_default(),
            kind,
            plugin,
            plugin_offset,
            fts,
            ftscomment,
            accumulate,
            use_own_name,
            json_null,
            json_array,
            get_next: false,
            file: self.file.clone(),
            line: el.line,
        })
    }

    fn order(&mut self, el: &Element) -> Option<Vec<Slot>> {
        if el.text.matches(',').count() >= MAX_ORDER {
            self.error(el, "Order has too many fields.");
            return None;
        }
        let mut slots = Vec::new();
        for item in el.text.split(',') {
            let w = word(item);
            if w.is_empty() {
                let decoder = self.decoder.clone().unwrap_or_default();
                self.error(el, format!("decode-xml: Wrong field '{item}' in the order of decoder '{decoder}'"));
                return None;
            }
            slots.push(match StaticField::from_order(w) {
                Some(f) => Slot::Static(f),
                None => Slot::Dynamic(Arc::from(w)),
            });
        }
        Some(slots)
    }

    fn fts(&mut self, el: &Element, name: &str, words: Vec<String>, order: Option<&[Slot]>) -> Option<Vec<String>> {
        const STATIC: &[&str] = &[
            "dstuser",
            "user",
            "srcuser",
            "srcip",
            "dstip",
            "id",
            "location",
            "data",
            "extra_data",
            "system_name",
            "name",
        ];
        for w in &words {
            let dynamic =
                order.unwrap_or_default().iter().any(|s| matches!(s, Slot::Dynamic(d) if d.eq_ignore_ascii_case(w)));
            if w.is_empty() || !(STATIC.contains(&w.as_str()) || dynamic) {
                self.error(el, format!("decode-xml: Wrong field '{w}' in the fts decoder '{name}'"));
                return None;
            }
        }
        Some(words)
    }
}

#[cfg(test)]
mod tests;
