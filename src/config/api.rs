//! `<api>`: vigil's REST API on 55000 (Wazuh keeps these in `api/configuration/api.yaml`; vigil
//! has one config, so they live here under the same names and defaults).

use std::time::Duration;

use serde::Serialize;

use super::value::{Reader, seconds};
use crate::xml::Element;

/// API settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Api {
    /// Serve the API.
    pub enabled: bool,
    /// Listen address (`0.0.0.0` listens on IPv6 too, as Wazuh's `['0.0.0.0', '::']`).
    pub host: std::net::IpAddr,
    /// TCP port.
    pub port: u16,
    /// Serve HTTPS (Wazuh's `https.enabled`); plain HTTP only when turned off on purpose.
    pub https: bool,
    /// Certificate, relative to the home (default: the home's own certificate).
    pub cert: Option<String>,
    /// Private key, relative to the home.
    pub key: Option<String>,
    /// Failed logins from one address before it is blocked (`access.max_login_attempts`).
    pub max_login_attempts: u32,
    /// How long a blocked address stays blocked (`access.block_time`).
    #[serde(serialize_with = "seconds")]
    pub block_time: Duration,
    /// Requests per minute from one client; 0: no limit (`access.max_request_per_minute`).
    pub max_request_per_minute: u32,
    /// Largest request body in bytes; 0: no limit (`max_upload_size`).
    pub max_upload_size: u64,
    /// A request running longer answers error 3021 unless `wait_for_complete` is set
    /// (`intervals.request_timeout`).
    #[serde(serialize_with = "seconds")]
    pub request_timeout: Duration,
}

impl Default for Api {
    fn default() -> Self {
        Self {
            enabled: true,
            host: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            port: 55000,
            https: true,
            cert: None,
            key: None,
            max_login_attempts: 50,
            block_time: Duration::from_secs(300),
            max_request_per_minute: 300,
            max_upload_size: 10 << 20,
            request_timeout: Duration::from_secs(10),
        }
    }
}

impl Api {
    /// Reads one `<api>` block over the current values.
    pub fn read(&mut self, r: &mut Reader<'_>, section: &Element) {
        for el in section.children() {
            match el.name.as_str() {
                "enabled" => r.yes_no(el, &mut self.enabled),
                "host" => r.parsed(el, &mut self.host),
                "port" => r.number(el, 1..=65_535, &mut self.port),
                "https" => r.yes_no(el, &mut self.https),
                "cert" => r.text(el, &mut self.cert),
                "key" => r.text(el, &mut self.key),
                "max_login_attempts" => r.number(el, 1..=u32::MAX, &mut self.max_login_attempts),
                "block_time" => r.time(el, Duration::from_secs(1), &mut self.block_time),
                "max_request_per_minute" => r.number(el, 0..=u32::MAX, &mut self.max_request_per_minute),
                "max_upload_size" => r.number(el, 0..=u64::MAX, &mut self.max_upload_size),
                "request_timeout" => r.time(el, Duration::from_secs(1), &mut self.request_timeout),
                _ => r.invalid_element(el),
            }
        }
    }
}
