//! `<srcip>`/`<dstip>` address lists (engine.md §4.5, Wazuh's `OS_IsValidIP`/`OS_IPFoundList`).

use std::net::{Ipv4Addr, Ipv6Addr};

/// One entry: an address and mask of one family, or `any`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Net {
    V4 { address: u32, mask: u32 },
    V6 { address: u128, mask: u128 },
    Any,
}

/// One `<srcip>`/`<dstip>` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpEntry {
    negated: bool,
    net: Net,
}

/// Why an entry is refused (a load error in Wazuh).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid IP address: '{0}'")]
pub struct IpError(pub String);

fn v4_mask(bits: u32) -> u32 {
    u32::MAX.checked_shl(32 - bits).unwrap_or(0)
}

fn v6_mask(bits: u32) -> u128 {
    u128::MAX.checked_shl(128 - bits).unwrap_or(0)
}

/// A CIDR length without leading zeros, at most `max`.
fn prefix_len(text: &str, max: u32) -> Option<u32> {
    let plain = !text.is_empty() && text.len() <= 3 && text.bytes().all(|b| b.is_ascii_digit());
    let bits: u32 = text.parse().ok().filter(|_| plain && (text == "0" || !text.starts_with('0')))?;
    (bits <= max).then_some(bits)
}

impl IpEntry {
    /// Reads `a.b.c.d`, `a.b.c.d/nn`, `a.b.c.d/m.m.m.m` (optionally after `::ffff:`), an IPv6
    /// address with an optional `/prefix`, or `any`; a leading `!` negates.
    pub fn parse(text: &str) -> Result<Self, IpError> {
        let error = || IpError(text.to_owned());
        let (negated, body) = match text.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if body == "any" {
            return Ok(Self { negated, net: Net::Any });
        }
        let (address, prefix) = match body.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (body, None),
        };
        let mapped = address.get(..7).filter(|h| h.eq_ignore_ascii_case("::ffff:")).map(|_| &address[7..]);
        if let Ok(ip) = mapped.unwrap_or(address).parse::<Ipv4Addr>() {
            let mask = match prefix {
                None => u32::MAX,
                Some(p) if p.contains('.') => u32::from(p.parse::<Ipv4Addr>().map_err(|_| error())?),
                Some(p) => v4_mask(prefix_len(p, 32).ok_or_else(error)?),
            };
            return Ok(Self { negated, net: Net::V4 { address: u32::from(ip) & mask, mask } });
        }
        // Wazuh's patterns take the usual IPv6 forms, but not `::` alone nor embedded IPv4.
        if address == "::" || address.contains('.') {
            return Err(error());
        }
        let ip: Ipv6Addr = address.parse().map_err(|_| error())?;
        let mask = match prefix {
            None => u128::MAX,
            Some(p) => v6_mask(prefix_len(p, 128).ok_or_else(error)?),
        };
        Ok(Self { negated, net: Net::V6 { address: u128::from(ip) & mask, mask } })
    }

    /// Whether `value` (already parsed) is inside this entry; the other family never is.
    fn contains(&self, value: &Value) -> bool {
        match (self.net, value) {
            (Net::Any, _) => true,
            (Net::V4 { address, mask }, Value::V4(ip)) => ip & mask == address,
            (Net::V6 { address, mask }, Value::V6(ip)) => ip & mask == address,
            _ => false,
        }
    }
}

enum Value {
    V4(u32),
    V6(u128),
}

/// Wazuh's `OS_IPFoundList`: `false` unless `value` is a numeric IPv4 or IPv6 address; else the
/// first entry containing it answers. A `!` entry flips the answer for itself and every later
/// entry (Wazuh's flag stays flipped): inside then means `false`, and no entry matching means
/// `true`.
pub fn found_in(value: &str, entries: &[IpEntry]) -> bool {
    let parsed = match value.parse::<Ipv4Addr>() {
        Ok(v4) => Value::V4(u32::from(v4)),
        Err(_) => match value.parse::<Ipv6Addr>() {
            Ok(v6) => Value::V6(u128::from(v6)),
            Err(_) => return false,
        },
    };
    let mut inside_means = true;
    for entry in entries {
        if entry.negated {
            inside_means = false;
        }
        if entry.contains(&parsed) {
            return inside_means;
        }
    }
    !inside_means
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<IpEntry> {
        items.iter().map(|i| IpEntry::parse(i).unwrap_or_else(|e| panic!("{e}"))).collect()
    }

    #[test]
    fn forms_and_errors() {
        for ok in ["10.0.0.1", "10.0.0.0/8", "10.0.0.0/255.0.0.0", "::ffff:10.0.0.1", "!any", "fe80::1/64", "::1"] {
            assert!(IpEntry::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["10.0.0.1/33", "10.0.0.1/08", "300.1.1.1", "::", "fe80::1/129", "host.example", "", "1.2.3.4/"] {
            assert_eq!(IpEntry::parse(bad), Err(IpError(bad.to_owned())), "{bad}");
        }
    }

    #[test]
    fn matching_with_the_sticky_negation() {
        let nets = list(&["10.0.0.0/8", "192.168.1.7"]);
        assert!(found_in("10.9.8.7", &nets));
        assert!(found_in("192.168.1.7", &nets));
        assert!(!found_in("192.168.1.8", &nets));
        assert!(!found_in("not an ip", &nets));
        assert!(!found_in("2001:db8::1", &nets), "the other family never matches");

        let negated = list(&["!10.0.0.0/8"]);
        assert!(!found_in("10.1.1.1", &negated));
        assert!(found_in("11.1.1.1", &negated));
        assert!(!found_in("junk", &negated), "a value that is no address is false either way");

        // The flag set by `!` stays for the entries after it.
        let mixed = list(&["!10.0.0.0/8", "192.168.0.0/16"]);
        assert!(!found_in("192.168.3.4", &mixed));
        assert!(found_in("172.16.0.1", &mixed));
        let v6 = list(&["2001:db8::/32"]);
        assert!(found_in("2001:db8:1::5", &v6));
        assert!(found_in("::1", &list(&["any"])));
        assert!(found_in("127.0.0.1", &list(&["any"])));
    }
}
