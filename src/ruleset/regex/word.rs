//! OS_WordMatch (Wazuh's `os_regex_match.c`): the matcher `if_group` uses on a rule's group
//! string. Case-insensitive substring search over `|`-separated alternatives; an alternative
//! starting with `^` must be a prefix.

/// Whether `pattern` matches `text`.
pub fn word_match(pattern: &str, text: &str) -> bool {
    if pattern.is_empty() {
        return false;
    }
    let mut alternatives = pattern.split('|').peekable();
    while let Some(alternative) = alternatives.next() {
        let last = alternatives.peek().is_none();
        if alternative_matches(alternative, text, last) {
            return true;
        }
    }
    false
}

fn alternative_matches(alternative: &str, text: &str, last: bool) -> bool {
    let (a, t) = (alternative.as_bytes(), text.as_bytes());
    if a.is_empty() {
        // A trailing `|` leaves an empty last alternative, which C accepts for any text; an
        // empty alternative elsewhere cannot match anything real.
        return last;
    }
    if let Some(prefix) = a.strip_prefix(b"^") {
        return t.len() >= prefix.len() && t[..prefix.len()].eq_ignore_ascii_case(prefix);
    }
    !t.is_empty() && t.windows(a.len()).any(|w| w.eq_ignore_ascii_case(a))
}

#[cfg(test)]
mod tests {
    use super::word_match;

    #[test]
    fn alternatives_prefixes_and_case() {
        assert!(word_match("authentication_failed", "syslog,sshd,Authentication_Failed,"));
        assert!(word_match("web|accesslog", "apache,accesslog,"));
        assert!(!word_match("web|accesslog", "syslog,sshd,"));
        assert!(word_match("^syslog", "SYSLOG,sshd,"));
        assert!(!word_match("^sshd", "syslog,sshd,"));
        assert!(!word_match("", "anything"));
        assert!(word_match("nothing|", "anything"), "a trailing empty alternative accepts all");
        assert!(!word_match("x", ""));
    }
}
