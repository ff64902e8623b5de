//! `<ssl_verify_host>`: the agent certificate must name the address the agent connects from,
//! in a subject alternative name (DNS or IP) or else in a common name, matched the way
//! authd's `check_x509_cert` matches (labels compared case-blind, `*` only as a whole first
//! label).

use std::net::IpAddr;

use x509_parser::extensions::GeneralName;

/// Longest DNS label.
const MAX_LABEL: usize = 63;
/// Most labels in a name.
const MAX_LABELS: usize = 127;

/// Whether the DER certificate names `host` (an address as authd writes it).
pub fn names_host(der: &[u8], host: &str) -> bool {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return false;
    };
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        let matched = san.value.general_names.iter().any(|name| match name {
            GeneralName::DNSName(dns) => name_matches(dns, host),
            GeneralName::IPAddress(bytes) => address_matches(bytes, host),
            _ => false,
        });
        if matched {
            return true;
        }
    }
    cert.subject().iter_common_name().any(|cn| cn.as_str().is_ok_and(|cn| name_matches(cn, host)))
}

fn address_matches(bytes: &[u8], host: &str) -> bool {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => bytes == v4.octets(),
        Ok(IpAddr::V6(v6)) => bytes == v6.octets(),
        Err(_) => false,
    }
}

/// The labels of a name; a trailing dot (FQDN) adds no label. `None` when malformed.
fn labels(name: &str) -> Option<Vec<&str>> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let labels: Vec<&str> = name.split('.').collect();
    (!name.is_empty() && labels.len() < MAX_LABELS && labels.iter().all(|l| l.len() <= MAX_LABEL)).then_some(labels)
}

/// RFC 1035 letters, digits and hyphens, ending in a letter or digit.
fn label_valid(label: &str) -> bool {
    let bytes = label.as_bytes();
    !bytes.is_empty()
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
}

fn name_matches(cert_name: &str, host: &str) -> bool {
    if cert_name.contains('\0') {
        return false;
    }
    let (Some(cert), Some(host)) = (labels(cert_name), labels(host)) else {
        return false;
    };
    if cert.len() != host.len() {
        return false;
    }
    let wildcard = cert[0] == "*" && label_valid(host[0]);
    let skip = usize::from(wildcard);
    host.iter().zip(&cert).skip(skip).all(|(h, c)| label_valid(h) && h.eq_ignore_ascii_case(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(sans: &[&str], cn: &str) -> Vec<u8> {
        let mut params =
            rcgen::CertificateParams::new(sans.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).expect("params");
        params.distinguished_name.push(rcgen::DnType::CommonName, cn);
        let key = rcgen::KeyPair::generate().expect("key");
        params.self_signed(&key).expect("cert").der().to_vec()
    }

    #[test]
    fn names_match_as_authd_matches_them() {
        assert!(name_matches("agent.example.com", "AGENT.example.com."));
        assert!(name_matches("*.example.com", "agent.example.com"));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(!name_matches("a*.example.com", "ab.example.com"));
        assert!(name_matches("10.0.0.5", "10.0.0.5"));
        assert!(!name_matches("10.0.0.5", "10.0.0.6"));
    }

    #[test]
    fn certificates_are_checked_by_san_then_cn() {
        assert!(names_host(&cert(&["127.0.0.1"], "x"), "127.0.0.1"));
        assert!(names_host(&cert(&["agent.example"], "127.0.0.1"), "127.0.0.1"), "CN when no SAN matches");
        assert!(!names_host(&cert(&["10.9.9.9"], "other"), "127.0.0.1"));
        assert!(names_host(&cert(&["::1"], "x"), "0000:0000:0000:0000:0000:0000:0000:0001"));
        assert!(!names_host(b"not a certificate", "127.0.0.1"));
    }
}
