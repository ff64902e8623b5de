//! One line of a CDB list's text file, read as Wazuh's `make_cdb` reads it.

/// The key and value of `line`, or `None` when Wazuh skips it (no `:`, or a quote left open).
///
/// A `\r` or `\n` ends the line. A key holding `:` is quoted: when the line has a `"` before
/// its first `:`, the key is what lies between that quote and the next one (text before the
/// quote is dropped) and the value starts after the next `:`. Otherwise the key runs to the
/// first `:`. A value with a `"` is what lies between its first two quotes; without one it is
/// the rest of the line, `:`s included, and may be empty.
pub fn entry(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = line.iter().position(|&b| b == b'\r' || b == b'\n' || b == 0).unwrap_or(line.len());
    let line = &line[..end];
    let colon = memchr::memchr(b':', line)?;
    let (key, rest) = match memchr::memchr(b'"', line) {
        Some(open) if colon > open => {
            let close = open + 1 + memchr::memchr(b'"', &line[open + 1..])?;
            let after = &line[close + 1..];
            (&line[open + 1..close], &after[memchr::memchr(b':', after)? + 1..])
        }
        _ => (&line[..colon], &line[colon + 1..]),
    };
    let value = match memchr::memchr(b'"', rest) {
        Some(open) => {
            let close = open + 1 + memchr::memchr(b'"', &rest[open + 1..])?;
            &rest[open + 1..close]
        }
        None => rest,
    };
    Some((key, value))
}

#[cfg(test)]
mod tests {
    use super::entry;

    fn pair(line: &str) -> Option<(String, String)> {
        entry(line.as_bytes())
            .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), String::from_utf8_lossy(v).into_owned()))
    }

    fn kv(k: &str, v: &str) -> Option<(String, String)> {
        Some((k.to_owned(), v.to_owned()))
    }

    #[test]
    fn plain_quoted_and_empty() {
        assert_eq!(pair("10.0.0.1:"), kv("10.0.0.1", ""));
        assert_eq!(pair("write:write\r\n"), kv("write", "write"));
        assert_eq!(pair("a:b:c"), kv("a", "b:c"), "split at the first colon");
        assert_eq!(pair("\"a:b\":v"), kv("a:b", "v"));
        assert_eq!(pair("x\"a:b\"y:v"), kv("a:b", "v"), "text around a quoted key is dropped");
        assert_eq!(pair("k:\"quoted value\" tail"), kv("k", "quoted value"));
        assert_eq!(pair("k:pre\"v\""), kv("k", "v"));
        assert_eq!(pair("k:v\"w"), None, "an open quote in the value skips the line");
        assert_eq!(pair("\"open:v"), None, "an open quote in the key skips the line");
        assert_eq!(pair("no colon here"), None);
        assert_eq!(pair("a:b\rignored"), kv("a", "b"));
        assert_eq!(pair("k:\"v\""), kv("k", "v"), "a quote after the colon is the value's");
        assert_eq!(pair("k\":v\""), None, "the key's quotes hold the colon, and no colon follows");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(line in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let _ = entry(&line);
        }
    }
}
