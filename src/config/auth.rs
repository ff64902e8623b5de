//! `<auth>`: the enrollment service on 1515 (Wazuh's `src/config/authd-config.c`).
//!
//! Wazuh resets every default at the start of each `<auth>` block, so the last block wins; with no
//! block at all it does not listen on the network.

use std::time::Duration;

use serde::Serialize;

use super::value::{Reader, seconds};
use crate::xml::Element;

/// The OpenSSL cipher list Wazuh uses for TLS 1.2 and lower.
pub const DEFAULT_CIPHERS: &str = "HIGH:!ADH:!EXP:!MD5:!RC4:!3DES:!CAMELLIA:@STRENGTH";

/// When a new enrollment may replace an existing agent with the same name or address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Force {
    /// Replacing is allowed at all.
    pub enabled: bool,
    /// Refuse when the request carries the same key hash as the stored agent.
    pub key_mismatch: bool,
    /// The old agent must have been disconnected this long (`None`: no such condition).
    #[serde(serialize_with = "optional_seconds")]
    pub disconnected_time: Option<Duration>,
    /// The old agent must have been registered this long ago.
    #[serde(serialize_with = "seconds")]
    pub after_registration_time: Duration,
}

fn optional_seconds<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_u64(d.as_secs()),
        None => s.serialize_none(),
    }
}

impl Default for Force {
    fn default() -> Self {
        Self {
            enabled: true,
            key_mismatch: true,
            disconnected_time: Some(Duration::from_secs(3600)),
            after_registration_time: Duration::from_secs(3600),
        }
    }
}

/// How much the enrollment service takes on at once (vigil's own `<auth>` elements).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthLimits {
    /// Connections in handshake or request at once (`<max_handshakes>`).
    pub max_handshakes: usize,
    /// Of those, from one source address (`<max_handshakes_per_ip>`).
    pub max_handshakes_per_ip: usize,
    /// New connections per second from one address, burst of the same size; 0: no limit
    /// (`<rate_limit>`).
    pub rate_per_ip: u32,
    /// Time a connection has for its handshake, request and answer (`<request_timeout>`).
    pub timeout: Duration,
    /// Longest request line (`<max_request_size>`).
    pub max_request: usize,
}

/// Enrollment settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Auth {
    /// The service is off.
    pub disabled: bool,
    /// Listen on the network (off when no `<auth>` block exists, as in Wazuh).
    pub remote_enrollment: bool,
    /// TLS port.
    pub port: u16,
    /// Listen on IPv6 too.
    pub ipv6: bool,
    /// Register agents with their source address instead of `any`.
    pub use_source_ip: bool,
    /// Drop removed agents from client.keys instead of keeping `!` lines.
    pub purge: bool,
    /// Require the password from `etc/authd.pass`.
    pub use_password: bool,
    /// Cipher list for TLS 1.2.
    pub ciphers: String,
    /// CA that agent certificates must chain to (none: no client certificates).
    pub ssl_agent_ca: Option<String>,
    /// Agent certificate must name the agent's source address.
    pub ssl_verify_host: bool,
    /// Server certificate, relative to the home.
    pub ssl_manager_cert: String,
    /// Server key, relative to the home.
    pub ssl_manager_key: String,
    /// Also accept TLS versions below 1.2 (rustls never offers them; kept for compatibility).
    pub ssl_auto_negotiate: bool,
    /// Replacement rules.
    pub force: Force,
    /// Accept agents newer than the manager.
    pub allow_higher_versions: bool,
    /// Connection limits (vigil's own elements; Wazuh has none).
    #[serde(serialize_with = "limits")]
    pub limits: AuthLimits,
}

fn limits<S: serde::Serializer>(l: &AuthLimits, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap as _;
    let mut map = s.serialize_map(Some(5))?;
    map.serialize_entry("max_handshakes", &l.max_handshakes)?;
    map.serialize_entry("max_handshakes_per_ip", &l.max_handshakes_per_ip)?;
    map.serialize_entry("rate_limit", &l.rate_per_ip)?;
    map.serialize_entry("request_timeout", &l.timeout.as_secs_f64())?;
    map.serialize_entry("max_request_size", &l.max_request)?;
    map.end()
}

/// The limits a `<auth>` block starts with.
pub const DEFAULT_LIMITS: AuthLimits = AuthLimits {
    max_handshakes: 1024,
    max_handshakes_per_ip: 64,
    rate_per_ip: 50,
    timeout: Duration::from_secs(10),
    // authd's request buffer: 64 KiB plus 4 KiB.
    max_request: 69_632,
};

impl Default for Auth {
    /// The defaults of a `<auth>` block.
    fn default() -> Self {
        Self {
            disabled: false,
            remote_enrollment: true,
            port: 1515,
            ipv6: false,
            use_source_ip: false,
            purge: false,
            use_password: false,
            ciphers: DEFAULT_CIPHERS.to_owned(),
            ssl_agent_ca: None,
            ssl_verify_host: false,
            ssl_manager_cert: "etc/sslmanager.cert".to_owned(),
            ssl_manager_key: "etc/sslmanager.key".to_owned(),
            ssl_auto_negotiate: false,
            force: Force::default(),
            allow_higher_versions: false,
            limits: DEFAULT_LIMITS,
        }
    }
}

impl Auth {
    /// What Wazuh runs with when ossec.conf has no `<auth>`: no network listener, no force.
    pub fn absent() -> Self {
        Self {
            remote_enrollment: false,
            force: Force { enabled: false, key_mismatch: false, disconnected_time: None, ..Force::default() },
            ..Self::default()
        }
    }

    /// Reads one `<auth>` block; it replaces whatever earlier blocks set.
    pub fn read(&mut self, r: &mut Reader<'_>, section: &Element) {
        *self = Self::default();
        let mut legacy_force = None;
        let mut legacy_time = None;
        let mut saw_force = false;
        for el in section.children() {
            match el.name.as_str() {
                "disabled" => r.yes_no(el, &mut self.disabled),
                "remote_enrollment" => r.yes_no(el, &mut self.remote_enrollment),
                "port" => r.number(el, 1..=u16::MAX, &mut self.port),
                "ipv6" => match el.text.to_ascii_lowercase().as_str() {
                    "yes" => self.ipv6 = true,
                    "no" => self.ipv6 = false,
                    _ => r.invalid_value(el),
                },
                "use_source_ip" => r.yes_no(el, &mut self.use_source_ip),
                "purge" => r.yes_no(el, &mut self.purge),
                "use_password" => r.yes_no(el, &mut self.use_password),
                "ciphers" => el.text.clone_into(&mut self.ciphers),
                "ssl_agent_ca" => self.ssl_agent_ca = Some(el.text.clone()),
                "ssl_verify_host" => r.yes_no(el, &mut self.ssl_verify_host),
                "ssl_manager_cert" => el.text.clone_into(&mut self.ssl_manager_cert),
                "ssl_manager_key" => el.text.clone_into(&mut self.ssl_manager_key),
                "ssl_auto_negotiate" => r.yes_no(el, &mut self.ssl_auto_negotiate),
                "force" => {
                    saw_force = true;
                    self.read_force(r, el);
                }
                "force_insert" => {
                    let mut v = false;
                    r.yes_no(el, &mut v);
                    r.warn(el, "The <force_insert> tag is deprecated. Use <force> instead.");
                    legacy_force = Some(v);
                }
                "force_time" => {
                    let mut v = 0u64;
                    r.number(el, 0..=u64::MAX, &mut v);
                    r.warn(el, "The <force_time> tag is deprecated. Use <force> instead.");
                    legacy_time = Some(v);
                }
                "agents" => {
                    for child in el.children() {
                        match child.name.as_str() {
                            "allow_higher_versions" => r.yes_no(child, &mut self.allow_higher_versions),
                            _ => r.warn(child, format!("Invalid element in the configuration: '{}'.", child.name)),
                        }
                    }
                }
                "max_handshakes" => r.number(el, 1..=1_000_000, &mut self.limits.max_handshakes),
                "max_handshakes_per_ip" => r.number(el, 1..=1_000_000, &mut self.limits.max_handshakes_per_ip),
                "rate_limit" => r.number(el, 0..=1_000_000, &mut self.limits.rate_per_ip),
                "request_timeout" => match interval(&el.text).filter(|d| !d.is_zero()) {
                    Some(d) => self.limits.timeout = d,
                    None => r.invalid_value(el),
                },
                "max_request_size" => r.number(el, 64..=(1 << 20), &mut self.limits.max_request),
                "limit_maxagents" | "key_request" => r.unused(el),
                _ => r.invalid_element(el),
            }
        }
        if !saw_force {
            if let Some(enabled) = legacy_force {
                self.force.enabled = enabled;
            }
            if let Some(secs) = legacy_time {
                self.force.disconnected_time = (secs > 0).then(|| Duration::from_secs(secs));
            }
        }
    }

    fn read_force(&mut self, r: &mut Reader<'_>, force: &Element) {
        if force.children().next().is_none() {
            r.invalid_element(force);
        }
        for el in force.children() {
            match el.name.as_str() {
                "enabled" => r.yes_no(el, &mut self.force.enabled),
                "key_mismatch" => r.yes_no(el, &mut self.force.key_mismatch),
                "disconnected_time" => match el.attr("enabled") {
                    Some("yes") => match interval(&el.text) {
                        Some(d) => self.force.disconnected_time = Some(d),
                        None => r.error(el, "Invalid interval for 'disconnected_time' option."),
                    },
                    Some("no") => self.force.disconnected_time = None,
                    Some(_) => r.invalid_value(el),
                    None => r.error(el, "Empty attribute for disconnected_time."),
                },
                "after_registration_time" => match interval(&el.text) {
                    Some(d) => self.force.after_registration_time = d,
                    None => r.error(el, "Invalid interval for 'after_registration_time' option."),
                },
                _ => r.invalid_element(el),
            }
        }
    }
}

/// authd's interval syntax: a C integer (decimal, `0x` hex or `0` octal) and one optional unit
/// letter `d`, `h`, `m` or `s`.
fn interval(text: &str) -> Option<Duration> {
    let (number, unit) = match text.as_bytes().last() {
        Some(b'd') => (&text[..text.len() - 1], 86_400),
        Some(b'h') => (&text[..text.len() - 1], 3600),
        Some(b'm') => (&text[..text.len() - 1], 60),
        Some(b's') => (&text[..text.len() - 1], 1),
        _ => (text, 1),
    };
    let n = if let Some(hex) = number.strip_prefix("0x").or_else(|| number.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()?
    } else if number.len() > 1 && number.starts_with('0') {
        u64::from_str_radix(&number[1..], 8).ok()?
    } else {
        number.parse().ok()?
    };
    n.checked_mul(unit).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authd_intervals() {
        assert_eq!(interval("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(interval("0x10"), Some(Duration::from_secs(16)));
        assert_eq!(interval("010m"), Some(Duration::from_secs(480)));
        assert_eq!(interval("1w"), None);
        assert_eq!(interval("h"), None);
    }
}
