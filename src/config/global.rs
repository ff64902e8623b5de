//! `<global>`: output switches, e-mail, agent disconnection and the white list
//! (Wazuh's `src/config/global-config.c`; defaults from analysisd, remoted and maild).

use std::time::Duration;

use serde::Serialize;

use super::value::{Reader, seconds};
use crate::xml::Element;

/// Manager-wide settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Global {
    /// Write alerts.json.
    pub jsonout_output: bool,
    /// Write alerts.log.
    pub alerts_log: bool,
    /// Archive every event to archives.log.
    pub logall: bool,
    /// Archive every event to archives.json.
    pub logall_json: bool,
    /// Send alert e-mails.
    pub email_notification: bool,
    /// SMTP relay host (or a sendmail path).
    pub smtp_server: Option<String>,
    /// HELO name for SMTP.
    pub helo_server: Option<String>,
    /// Sender address.
    pub email_from: Option<String>,
    /// Reply-To address.
    pub email_reply_to: Option<String>,
    /// Name shown in the subject.
    pub email_idsname: Option<String>,
    /// Recipients.
    pub email_to: Vec<String>,
    /// E-mails per hour at most (1..=1000000).
    pub email_maxperhour: u32,
    /// `alerts.log` or `alerts.json`: what e-mails are built from.
    pub email_log_source: String,
    /// vigil: SMTP port (`smtp_port`, 25 by default).
    pub smtp_port: u16,
    /// vigil: TLS with the SMTP server (`smtp_tls`: `none`, Wazuh's plain SMTP, by default;
    /// `starttls`; or `tls` from the first byte).
    pub smtp_tls: SmtpTls,
    /// vigil: SMTP user (`smtp_user`); authentication needs TLS.
    pub smtp_user: Option<String>,
    /// vigil: file holding the SMTP password (`smtp_password_file`, under the home).
    pub smtp_password_file: Option<String>,
    /// vigil: CA bundle the SMTP server's certificate is checked against (`smtp_ca_file`; the
    /// system's by default).
    pub smtp_ca_file: Option<String>,
    /// An agent without keepalive for this long is disconnected.
    #[serde(serialize_with = "seconds")]
    pub agents_disconnection_time: Duration,
    /// Alert this long after a disconnection (0: never).
    #[serde(serialize_with = "seconds")]
    pub agents_disconnection_alert_time: Duration,
    /// Addresses and host patterns active response never blocks.
    pub white_list: Vec<String>,
    /// Events kept in memory for correlation (`memory_size`, at least 2048).
    pub memory_size: u32,
    /// vigil: distinct correlation keys (agent and `same_*` values) kept per rule; past it the
    /// least recently used are dropped (`correlation_keys`, at least 1024).
    pub correlation_keys: u32,
    /// Rotate alert files this often (0: daily only).
    #[serde(serialize_with = "seconds")]
    pub rotate_interval: Duration,
    /// Rotate alert files at this size in bytes (0: no size limit).
    pub max_output_size: u64,
    /// vigil: the alert log is forced to disk at most this long after a write
    /// (`fsync_interval`, milliseconds; 0: after every write).
    #[serde(serialize_with = "super::value::millis")]
    pub fsync_interval: Duration,
    /// vigil: or once this many bytes were written since (`fsync_bytes`).
    pub fsync_bytes: u64,
    /// Custom alert line format, when set.
    pub custom_alert_output: Option<String>,
    /// Check for new releases (used by the API).
    pub update_check: bool,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP (Wazuh's only mode).
    None,
    /// STARTTLS, required.
    StartTls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
}

impl Default for Global {
    fn default() -> Self {
        Self {
            jsonout_output: true,
            alerts_log: true,
            logall: false,
            logall_json: false,
            email_notification: false,
            smtp_server: None,
            helo_server: None,
            email_from: None,
            email_reply_to: None,
            email_idsname: None,
            email_to: Vec::new(),
            email_maxperhour: 12,
            email_log_source: "alerts.json".to_owned(),
            smtp_port: 25,
            smtp_tls: SmtpTls::None,
            smtp_user: None,
            smtp_password_file: None,
            smtp_ca_file: None,
            agents_disconnection_time: Duration::from_secs(900),
            agents_disconnection_alert_time: Duration::ZERO,
            white_list: Vec::new(),
            memory_size: 8192,
            correlation_keys: 65536,
            rotate_interval: Duration::ZERO,
            max_output_size: 0,
            fsync_interval: Duration::from_millis(100),
            fsync_bytes: 1 << 20,
            custom_alert_output: None,
            update_check: true,
        }
    }
}

/// Elements Wazuh accepts in `<global>` that vigil has no use for.
const UNUSED: &[&str] = &[
    "stats",
    "integrity_checking",
    "rootkit_detection",
    "host_information",
    "prelude_output",
    "prelude_profile",
    "prelude_log_level",
    "zeromq_output",
    "zeromq_uri",
    "zeromq_server_cert",
    "zeromq_client_cert",
    "geoipdb",
    "queue_size",
    "compress_alerts",
    "cti-url",
    "limits",
    "forward_to",
];

fn is_email(s: &str) -> bool {
    // Wazuh's unanchored check: `[a-zA-Z0-9._-]+@[a-zA-Z0-9._-]`.
    let ok = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    let bytes = s.as_bytes();
    bytes
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'@' && i > 0 && ok(bytes[i - 1]) && bytes.get(i + 1).is_some_and(|&n| ok(n)))
}

/// Wazuh's size syntax: digits with an optional `B`, `K`, `M` or `G`.
fn parse_size(text: &str) -> Option<u64> {
    let (digits, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_lowercase()),
        _ => (text, 'b'),
    };
    let n: u64 = digits.parse().ok()?;
    let mult = match unit {
        'b' => 1,
        'k' => 1 << 10,
        'm' => 1 << 20,
        'g' => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

impl Global {
    /// Reads one `<global>` block over the current values.
    pub fn read(&mut self, r: &mut Reader<'_>, section: &Element) {
        // Wazuh resets update_check at every <global> block.
        self.update_check = true;
        for el in section.children() {
            match el.name.as_str() {
                "jsonout_output" => r.yes_no(el, &mut self.jsonout_output),
                "alerts_log" => r.yes_no(el, &mut self.alerts_log),
                "logall" => r.yes_no(el, &mut self.logall),
                "logall_json" => r.yes_no(el, &mut self.logall_json),
                "email_notification" => r.yes_no(el, &mut self.email_notification),
                "smtp_server" => r.text(el, &mut self.smtp_server),
                "helo_server" => r.text(el, &mut self.helo_server),
                "email_from" => r.text(el, &mut self.email_from),
                "email_reply_to" => r.text(el, &mut self.email_reply_to),
                "email_idsname" => r.text(el, &mut self.email_idsname),
                "email_to" if is_email(&el.text) => self.email_to.push(el.text.clone()),
                "email_to" => r.error(el, format!("Invalid Email address: {}.", el.text)),
                "email_maxperhour" => r.number(el, 1..=1_000_000, &mut self.email_maxperhour),
                "email_log_source" => {
                    if el.text.starts_with("alerts.log") {
                        "alerts.log".clone_into(&mut self.email_log_source);
                    } else if el.text.is_empty() || el.text.bytes().all(|b| b.is_ascii_digit()) {
                        r.invalid_value(el);
                    } else {
                        "alerts.json".clone_into(&mut self.email_log_source);
                    }
                }
                "smtp_port" => r.number(el, 1..=u16::MAX, &mut self.smtp_port),
                "smtp_tls" => match el.text.as_str() {
                    "none" | "no" => self.smtp_tls = SmtpTls::None,
                    "starttls" => self.smtp_tls = SmtpTls::StartTls,
                    "tls" | "yes" => self.smtp_tls = SmtpTls::Tls,
                    _ => r.invalid_value(el),
                },
                "smtp_user" => r.text(el, &mut self.smtp_user),
                "smtp_password_file" => r.text(el, &mut self.smtp_password_file),
                "smtp_ca_file" => r.text(el, &mut self.smtp_ca_file),
                "agents_disconnection_time" => {
                    r.time(el, Duration::from_secs(1), &mut self.agents_disconnection_time);
                }
                "agents_disconnection_alert_time" => {
                    r.time(el, Duration::ZERO, &mut self.agents_disconnection_alert_time);
                }
                "white_list" => self.white_list.push(el.text.clone()),
                "memory_size" => {
                    r.number(el, 0..=u32::MAX, &mut self.memory_size);
                    self.memory_size = self.memory_size.max(2048);
                }
                "correlation_keys" => {
                    r.number(el, 0..=u32::MAX, &mut self.correlation_keys);
                    self.correlation_keys = self.correlation_keys.max(1024);
                }
                "rotate_interval" => {
                    match el.text.strip_suffix('w').map_or_else(|| super::value::parse_time(&el.text), |_| None) {
                        Some(d) if d.is_zero() || (600..=86_400).contains(&d.as_secs()) => self.rotate_interval = d,
                        _ => r.invalid_value(el),
                    }
                }
                "max_output_size" => match parse_size(&el.text) {
                    Some(n) if n == 0 || (1_000_000..=1 << 40).contains(&n) => self.max_output_size = n,
                    _ => r.invalid_value(el),
                },
                "fsync_interval" => {
                    let mut ms = 100u64;
                    r.number(el, 0..=60_000, &mut ms);
                    self.fsync_interval = Duration::from_millis(ms);
                }
                "fsync_bytes" => r.number(el, 0..=1 << 40, &mut self.fsync_bytes),
                "custom_alert_output" => r.text(el, &mut self.custom_alert_output),
                "update_check" => r.yes_no(el, &mut self.update_check),
                name if UNUSED.contains(&name) => r.unused(el),
                _ => r.invalid_element(el),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_sizes() {
        assert!(is_email("a@b.c"));
        assert!(!is_email("@b"));
        assert!(!is_email("nobody"));
        assert_eq!(parse_size("5M"), Some(5 << 20));
        assert_eq!(parse_size("1000000"), Some(1_000_000));
        assert_eq!(parse_size("2x"), None);
    }
}
