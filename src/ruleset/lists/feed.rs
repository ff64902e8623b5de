//! Threat-intelligence feeds made into CDB lists: a CSV or a plain list of indicators (IP
//! addresses and networks, domains, URLs, file hashes), one per line, becomes Wazuh's
//! `key:value` text. Comments, blank lines, headers and anything that is not an indicator of
//! the asked kind are skipped and counted; keys holding `:` (IPv6) are quoted; duplicates go.

use std::collections::HashSet;
use std::net::IpAddr;

/// The kind of indicator kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Whatever each line holds.
    Auto,
    /// IP addresses and networks (/8, /16, /24 become Wazuh's address prefixes).
    Ip,
    /// Domains (and the host of URLs).
    Domain,
    /// MD5, SHA-1 or SHA-256 hashes.
    Hash,
}

/// What a feed gave.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Converted {
    /// The list's text.
    pub text: String,
    /// Entries written.
    pub entries: usize,
    /// Lines skipped (not an indicator of the kind).
    pub skipped: usize,
    /// Indicators seen before.
    pub duplicates: usize,
}

/// The indicator in `field` as a list key, if it is one of `kind`.
pub fn indicator(field: &str, kind: Kind) -> Option<String> {
    let field = field.trim().trim_matches(['"', '\'']).trim();
    let ip = || -> Option<String> {
        if let Ok(addr) = field.parse::<IpAddr>() {
            return Some(addr.to_string());
        }
        let (net, bits) = field.split_once('/')?;
        let addr: std::net::Ipv4Addr = net.parse().ok()?;
        let octets = match bits.parse::<u8>().ok()? {
            32 => return Some(addr.to_string()),
            24 => 3,
            16 => 2,
            8 => 1,
            _ => return None,
        };
        let parts: Vec<String> = addr.octets()[..octets].iter().map(u8::to_string).collect();
        Some(format!("{}.", parts.join(".")))
    };
    let hash = || {
        (matches!(field.len(), 32 | 40 | 64) && field.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| field.to_ascii_lowercase())
    };
    let domain = || {
        let host = match field.split_once("://") {
            Some((_, rest)) => rest.split(['/', '?', '#']).next()?.rsplit('@').next()?.split(':').next()?,
            None => field,
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let label_ok =
            |l: &str| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let valid =
            host.contains('.') && host.len() <= 253 && host.split('.').all(label_ok) && host.parse::<IpAddr>().is_err();
        valid.then_some(host)
    };
    match kind {
        Kind::Ip => ip(),
        Kind::Hash => hash(),
        Kind::Domain => domain(),
        Kind::Auto => ip().or_else(hash).or_else(domain),
    }
}

/// The list for `feed`: indicators of `kind` from column `column` (0-based; CSV separated by
/// `,`, `;` or tabs), each with `value`.
pub fn convert(feed: &str, kind: Kind, column: usize, value: &str) -> Converted {
    let mut out = Converted::default();
    let mut seen = HashSet::new();
    let value = value.replace(['\r', '\n'], " ");
    let value =
        if value.contains(':') || value.contains('"') { format!("\"{}\"", value.replace('"', "")) } else { value };
    for line in feed.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        let Some(key) = line.split([',', ';', '\t']).nth(column).and_then(|f| indicator(f, kind)) else {
            out.skipped += 1;
            continue;
        };
        if !seen.insert(key.clone()) {
            out.duplicates += 1;
            continue;
        }
        if key.contains(':') {
            out.text.push_str(&format!("\"{key}\":{value}\n"));
        } else {
            out.text.push_str(&format!("{key}:{value}\n"));
        }
        out.entries += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_become_lists_wazuh_reads() {
        let feed = "# a feed\nindicator,type\n198.51.100.7,ip\n2001:db8::1,ip\n10.1.0.0/16,net\n\
                    EVIL.example.com,domain\nhttps://user@bad.example.org:8443/x?y,url\n\
                    44D88612FEA8A8F36DE82E1278ABB02F,md5\n198.51.100.7,again\nnot an indicator\n";
        let out = convert(feed, Kind::Auto, 0, "feed-x");
        assert_eq!(
            out.text,
            "198.51.100.7:feed-x\n\"2001:db8::1\":feed-x\n10.1.:feed-x\nevil.example.com:feed-x\nbad.example.org:feed-x\n\
             44d88612fea8a8f36de82e1278abb02f:feed-x\n"
        );
        assert_eq!((out.entries, out.skipped, out.duplicates), (6, 2, 1), "the header and the junk line skipped");
        for line in out.text.lines() {
            let (key, value) = crate::ruleset::lists::parse::entry(line.as_bytes()).expect("Wazuh reads the line");
            assert!(!key.is_empty() && value == b"feed-x", "{line}");
        }
        let ips = convert(feed, Kind::Ip, 0, "");
        assert_eq!(ips.entries, 3);
        assert!(convert("a.b,c\n", Kind::Domain, 5, "").text.is_empty(), "no such column");
        assert_eq!(convert("1.2.3.4\n", Kind::Ip, 0, "x:y").text, "1.2.3.4:\"x:y\"\n", "a value with ':' is quoted");
    }

    proptest::proptest! {
        /// Any feed gives lines Wazuh's list reader takes, keys unchanged, one per entry.
        #[test]
        fn any_feed_gives_readable_lists(feed in "\\PC*", value in "\\PC{0,12}") {
            let out = convert(&feed, Kind::Auto, 0, &value);
            proptest::prop_assert_eq!(out.text.lines().count(), out.entries);
            for line in out.text.lines() {
                let parsed = crate::ruleset::lists::parse::entry(line.as_bytes());
                proptest::prop_assert!(parsed.is_some_and(|(k, _)| !k.is_empty()), "{}", line);
            }
        }
    }
}
