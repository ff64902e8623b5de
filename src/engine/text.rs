//! Bytes to text on the hot path.

/// `bytes` as a `String`, invalid UTF-8 replaced by U+FFFD. Valid input (the common case) takes
/// the fast validator instead of `from_utf8_lossy`'s chunk iterator.
pub fn lossy(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_only_invalid_bytes() {
        assert_eq!(super::lossy(b"caf\xc3\xa9"), "café");
        assert_eq!(super::lossy(b"a\xffb"), "a\u{fffd}b");
    }
}
