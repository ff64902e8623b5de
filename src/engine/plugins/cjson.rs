//! JSON as Wazuh's bundled cJSON reads and prints it, because decoded values depend on it:
//! duplicate keys are kept in order, parsing stops after the first value (trailing text is
//! ignored), numbers go through `strtod`, and arrays are printed in cJSON's formatted style
//! (`["a", "b"]`, objects with newlines and tabs) before rules see them.

use std::borrow::Cow;
use std::fmt::Write as _;

/// cJSON's nesting limit.
const NESTING_LIMIT: usize = 1000;

/// A parsed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    /// `null`.
    Null,
    /// `false`.
    False,
    /// `true`.
    True,
    /// A number (always a double in cJSON).
    Number(f64),
    /// A string.
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Json<'a>>),
    /// An object; keys may repeat.
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

struct Parser<'a> {
    text: &'a str,
    s: &'a [u8],
    i: usize,
    depth: usize,
}

/// Parses the first JSON value of `text` (a UTF-8 BOM and leading whitespace skipped); what
/// follows it is ignored. `None` when cJSON would fail.
pub fn parse(text: &str) -> Option<Json<'_>> {
    let bytes = text.as_bytes();
    let start = if bytes.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    let mut p = Parser { text, s: bytes, i: start, depth: 0 };
    p.ws();
    p.value()
}

impl<'a> Parser<'a> {
    fn peek(&self) -> u8 {
        self.s.get(self.i).copied().unwrap_or(0)
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i] <= 32 {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Option<Json<'a>> {
        let rest = self.s.get(self.i..)?;
        if rest.starts_with(b"null") {
            self.i += 4;
            return Some(Json::Null);
        }
        if rest.starts_with(b"false") {
            self.i += 5;
            return Some(Json::False);
        }
        if rest.starts_with(b"true") {
            self.i += 4;
            return Some(Json::True);
        }
        match self.peek() {
            b'"' => self.string().map(Json::String),
            b'-' | b'0'..=b'9' => self.number().map(Json::Number),
            b'[' => self.array(),
            b'{' => self.object(),
            _ => None,
        }
    }

    fn number(&mut self) -> Option<f64> {
        let run = self.s[self.i..].iter().take(63).take_while(|b| b"0123456789+-eE.".contains(b)).count();
        let text = std::str::from_utf8(&self.s[self.i..self.i + run]).ok()?;
        let (value, used) = strtod(text)?;
        self.i += used;
        Some(value)
    }

    /// A string, borrowed from the text when it has no escapes (the common case).
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.i += 1;
        let start = self.i;
        let stop = memchr::memchr2(b'"', b'\\', self.s.get(start..)?)?;
        if self.s[start + stop] == b'"' {
            self.i = start + stop + 1;
            // Quotes are ASCII, so the slice between them is whole UTF-8.
            return self.text.get(start..start + stop).map(Cow::Borrowed);
        }
        let mut out = Vec::new();
        loop {
            // Copy the plain stretch up to the next quote or backslash in one go.
            let rest = self.s.get(self.i..)?;
            let stop = memchr::memchr2(b'"', b'\\', rest)?;
            out.extend_from_slice(&rest[..stop]);
            self.i += stop + 1;
            if rest[stop] == b'"' {
                return Some(Cow::Owned(
                    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
                ));
            }
            let e = *self.s.get(self.i)?;
            self.i += 1;
            match e {
                b'b' => out.push(8),
                b'f' => out.push(12),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'"' | b'\\' | b'/' => out.push(e),
                b'u' => {
                    let c = self.unicode()?;
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                _ => return None,
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.s.get(self.i..self.i + 4)?;
        self.i += 4;
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    }

    /// `\uXXXX`, with a surrogate pair when the first is a high surrogate.
    fn unicode(&mut self) -> Option<char> {
        let first = self.hex4()?;
        if (0xDC00..=0xDFFF).contains(&first) {
            return None;
        }
        if (0xD800..=0xDBFF).contains(&first) {
            if self.s.get(self.i..self.i + 2)? != b"\\u" {
                return None;
            }
            self.i += 2;
            let second = self.hex4()?;
            if !(0xDC00..=0xDFFF).contains(&second) {
                return None;
            }
            return char::from_u32(0x10000 + ((first & 0x3FF) << 10) + (second & 0x3FF));
        }
        char::from_u32(first)
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= NESTING_LIMIT).then_some(())
    }

    fn array(&mut self) -> Option<Json<'a>> {
        self.enter()?;
        self.i += 1;
        self.ws();
        let mut items = Vec::new();
        if self.peek() == b']' {
            self.i += 1;
            self.depth -= 1;
            return Some(Json::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value()?);
            self.ws();
            match self.peek() {
                b',' => self.i += 1,
                b']' => break,
                _ => return None,
            }
        }
        self.i += 1;
        self.depth -= 1;
        Some(Json::Array(items))
    }

    fn object(&mut self) -> Option<Json<'a>> {
        self.enter()?;
        self.i += 1;
        self.ws();
        let mut members = Vec::new();
        if self.peek() == b'}' {
            self.i += 1;
            self.depth -= 1;
            return Some(Json::Object(members));
        }
        loop {
            self.ws();
            if self.peek() != b'"' {
                return None;
            }
            let key = self.string()?;
            self.ws();
            if self.peek() != b':' {
                return None;
            }
            self.i += 1;
            self.ws();
            let value = self.value()?;
            members.push((key, value));
            self.ws();
            match self.peek() {
                b',' => self.i += 1,
                b'}' => break,
                _ => return None,
            }
        }
        self.i += 1;
        self.depth -= 1;
        Some(Json::Object(members))
    }
}

/// The longest prefix of `text` that C's `strtod` reads as a decimal number, and its length.
fn strtod(text: &str) -> Option<(f64, usize)> {
    let b = text.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let int_digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        frac_digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if int_digits + frac_digits > 0 {
            i += 1 + frac_digits;
        }
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_digits = b[j.min(b.len())..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp_digits > 0 {
            i = j + exp_digits;
        }
    }
    text[..i].parse::<f64>().ok().map(|v| (v, i))
}

/// cJSON's `valueint`: the double saturated to `int`.
pub fn value_int(d: f64) -> i64 {
    if d >= f64::from(i32::MAX) {
        i64::from(i32::MAX)
    } else if d <= f64::from(i32::MIN) {
        i64::from(i32::MIN)
    } else {
        d as i64
    }
}

/// How Wazuh's JSON decoder turns a number into field text: `%i` when `valueint` equals the
/// double, else `%f`.
pub fn number_field(d: f64) -> String {
    let int = value_int(d);
    if int as f64 == d { int.to_string() } else { format!("{d:.6}") }
}

/// C's `%.{precision}g`.
fn c_g(d: f64, precision: usize) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let sci = format!("{:.*e}", precision - 1, d);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s.to_owned() }
    };
    if exp < -4 || exp >= precision as i32 {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exp.abs())
    } else {
        let decimals = usize::try_from(precision as i32 - 1 - exp).unwrap_or(0);
        trim(&format!("{d:.decimals$}"))
    }
}

/// cJSON's number printer: `%d` for integral values within `int`, else `%1.15g`, or `%1.17g`
/// when 15 digits do not read back as the same double.
fn print_number(d: f64, out: &mut String) {
    if !d.is_finite() {
        out.push_str("null");
    } else if value_int(d) as f64 == d {
        let _ = write!(out, "{}", value_int(d));
    } else {
        let short = c_g(d, 15);
        let same = short.parse::<f64>().is_ok_and(|back| (back - d).abs() <= back.abs().max(d.abs()) * f64::EPSILON);
        out.push_str(&if same { short } else { c_g(d, 17) });
    }
}

/// A string as cJSON prints it: `"`, `\\` and control characters escaped, the rest raw.
pub fn print_string(s: &str, out: &mut String) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        // Eight bytes at a time while none needs escaping (the common case: log text).
        if let Some(word) = bytes.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok())
            && !needs_escape(u64::from_le_bytes(word))
        {
            i += 8;
            continue;
        }
        let b = bytes[i];
        i += 1;
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        // Escapes are ASCII, so `i - 1` is a char boundary.
        out.push_str(&s[start..i - 1]);
        start = i;
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            other => {
                let _ = write!(out, "\\u{:04x}", other);
            }
        }
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Whether any byte of `word` must be escaped: a control character, `"` or `\`. Each test is
/// the classic "has a byte below n" bit trick, exact for n ≤ 0x80; UTF-8's high bytes never match.
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    let control = below(word, 0x20);
    let quote = below(word ^ (ONES * u64::from(b'"')), 1);
    let backslash = below(word ^ (ONES * u64::from(b'\\')), 1);
    control | quote | backslash != 0
}

/// Writes one JSON object member by member, in the order given (cJSON's unformatted style).
pub struct ObjectWriter<'o> {
    out: &'o mut String,
    first: bool,
}

impl<'o> ObjectWriter<'o> {
    /// Starts an object in `out`.
    pub fn open(out: &'o mut String) -> Self {
        out.push('{');
        Self { out, first: true }
    }

    /// Members appended to `out` without braces (part of an object written in pieces).
    pub fn fragment(out: &'o mut String) -> Self {
        Self { out, first: true }
    }

    /// Starts a member; the caller writes its value into the returned buffer.
    pub fn key(&mut self, key: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        print_string(key, self.out);
        self.out.push(':');
        self.out
    }

    /// A string member.
    pub fn string(&mut self, key: &str, value: &str) {
        let out = self.key(key);
        print_string(value, out);
    }

    /// A member whose value is JSON text already.
    pub fn raw(&mut self, key: &str, json: &str) {
        self.key(key).push_str(json);
    }

    /// An array of strings.
    pub fn strings<'s>(&mut self, key: &str, values: impl IntoIterator<Item = &'s str>) {
        let out = self.key(key);
        out.push('[');
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            print_string(v, out);
        }
        out.push(']');
    }

    /// Ends the object.
    pub fn close(self) {
        self.out.push('}');
    }
}

/// `cJSON_Print`: the formatted layout.
pub fn print(value: &Json<'_>) -> String {
    let mut out = String::new();
    print_value(value, 0, &mut out);
    out
}

/// `cJSON_PrintUnformatted`: no spaces or newlines.
pub fn print_compact(value: &Json<'_>, out: &mut String) {
    match value {
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                print_compact(item, out);
            }
            out.push(']');
        }
        Json::Object(members) => {
            out.push('{');
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                print_string(key, out);
                out.push(':');
                print_compact(item, out);
            }
            out.push('}');
        }
        scalar => print_value(scalar, 0, out),
    }
}

/// Like [`parse`], but a failure tells the byte position where parsing stopped
/// (`cJSON_ParseWithOpts`' error pointer).
pub fn parse_at(text: &str) -> Result<Json<'_>, usize> {
    let mut p = Parser { text, s: text.as_bytes(), i: 0, depth: 0 };
    p.ws();
    p.value().ok_or(p.i)
}

/// Parses `text` when it is exactly one JSON value with nothing after it (`cJSON_ParseWithOpts`
/// and a check that the end pointer reached the terminating NUL).
pub fn parse_complete(text: &str) -> Option<Json<'_>> {
    let mut p = Parser { text, s: text.as_bytes(), i: 0, depth: 0 };
    p.ws();
    let value = p.value()?;
    (p.i == text.len()).then_some(value)
}

fn print_value(value: &Json<'_>, depth: usize, out: &mut String) {
    match value {
        Json::Null => out.push_str("null"),
        Json::False => out.push_str("false"),
        Json::True => out.push_str("true"),
        Json::Number(d) => print_number(*d, out),
        Json::String(s) => print_string(s, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                print_value(item, depth, out);
            }
            out.push(']');
        }
        Json::Object(members) => {
            out.push_str("{\n");
            for (i, (key, item)) in members.iter().enumerate() {
                out.extend(std::iter::repeat_n('\t', depth + 1));
                print_string(key, out);
                out.push_str(":\t");
                print_value(item, depth + 1, out);
                if i + 1 < members.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.extend(std::iter::repeat_n('\t', depth));
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_cjson_escapes_them_at_any_position() {
        let escaped = |text: &str| {
            let mut out = String::new();
            print_string(text, &mut out);
            out
        };
        assert_eq!(escaped("plain text longer than eight bytes"), "\"plain text longer than eight bytes\"");
        assert_eq!(escaped("a\"b\\c\nd\re\tf\u{8}g\u{c}h\u{1}"), "\"a\\\"b\\\\c\\nd\\re\\tf\\bg\\fh\\u0001\"");
        assert_eq!(escaped("café ünïcödé ok"), "\"café ünïcödé ok\"");
        // Every escape at every offset of a long string, against the byte-by-byte rule.
        for special in ['"', '\\', '\n', '\u{1f}', '\u{0}'] {
            for at in 0..24 {
                let mut text: String = "x".repeat(24);
                text.replace_range(at..at + 1, &special.to_string());
                let mut expected = String::from("\"");
                for c in text.chars() {
                    match c {
                        '"' => expected.push_str("\\\""),
                        '\\' => expected.push_str("\\\\"),
                        '\n' => expected.push_str("\\n"),
                        c if (c as u32) < 0x20 => expected.push_str(&format!("\\u{:04x}", c as u32)),
                        c => expected.push(c),
                    }
                }
                expected.push('"');
                assert_eq!(escaped(&text), expected, "{special:?} at {at}");
            }
        }
        assert!(!needs_escape(u64::from_le_bytes(*b"abcdefgh")));
        assert!(!needs_escape(u64::from_le_bytes([0xc3, 0xa9, 0xff, 0x80, b' ', b'~', b'!', b'#'])));
        assert!(needs_escape(u64::from_le_bytes(*b"abc\"efgh")));
        assert!(needs_escape(u64::from_le_bytes(*b"abcdefg\\")));
        assert!(needs_escape(u64::from_le_bytes([b'a', 0x1f, b'b', b'c', b'd', b'e', b'f', b'g'])));
    }

    #[test]
    fn parses_like_cjson() {
        assert_eq!(
            parse(r#"{"a":1,"a":2} trailing"#),
            Some(Json::Object(vec![("a".into(), Json::Number(1.0)), ("a".into(), Json::Number(2.0))]))
        );
        assert_eq!(parse(r#"{"a":1}{"b":2}"#).map(|j| print(&j)), Some("{\n\t\"a\":\t1\n}".to_owned()));
        assert_eq!(parse(r#""\u00e9\ud83d\ude00""#), Some(Json::String("é😀".into())));
        assert_eq!(parse(r#""\x""#), None);
        assert_eq!(parse("[1,]"), None);
        assert_eq!(parse("  [ ]"), Some(Json::Array(vec![])));
        assert_eq!(parse("-"), None);
        assert_eq!(parse(&"[".repeat(1001)), None);
    }

    #[test]
    fn numbers_as_wazuh_prints_them() {
        assert_eq!(number_field(1.0), "1");
        assert_eq!(number_field(0.1), "0.100000");
        assert_eq!(number_field(3_000_000_000.0), "3000000000.000000");
        assert_eq!(number_field(-2.5), "-2.500000");
        let printed = |t: &str| parse(t).map(|j| print(&j)).unwrap_or_default();
        assert_eq!(printed("[1, 2.5, 3000000000, 1e-7, 0.1]"), "[1, 2.5, 3000000000, 1e-07, 0.1]");
        assert_eq!(printed(r#"["a", {"k": [true, null]}, {}]"#), "[\"a\", {\n\t\"k\":\t[true, null]\n}, {\n}]");
        let compact = |t: &str| {
            let mut out = String::new();
            parse_complete(t).map(|j| print_compact(&j, &mut out)).map(|()| out)
        };
        assert_eq!(
            compact(r#"["a", {"k": [true, null, 2.5]}, {}]"#).as_deref(),
            Some(r#"["a",{"k":[true,null,2.5]},{}]"#)
        );
        assert_eq!(compact("[1] "), None, "trailing text, even a space, is not a whole value");
    }
}
