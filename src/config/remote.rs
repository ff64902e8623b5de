//! `<remote>`: the agent listener(s) on 1514 (Wazuh's `src/config/remote-config.c`).
//!
//! Each block is one listener; at most one may be `secure`. The address lists and tuning values
//! are shared by all blocks.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use super::value::{Reader, parse_time, seconds};
use crate::xml::Element;

/// What a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Connection {
    /// Wazuh agents (encrypted).
    Secure,
    /// Plain syslog from devices.
    Syslog,
}

/// One `<remote>` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listener {
    /// Secure or syslog.
    pub connection: Connection,
    /// 1514 for secure, 514 for syslog unless set.
    pub port: u16,
    /// Listen on TCP.
    pub tcp: bool,
    /// Listen on UDP.
    pub udp: bool,
    /// Listen on IPv6 too.
    pub ipv6: bool,
    /// Bind address (all addresses when unset).
    pub local_ip: Option<IpAddr>,
}

/// Every `<remote>` block together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Remote {
    /// Listeners in file order.
    pub listeners: Vec<Listener>,
    /// Sources allowed to send syslog.
    pub allowed_ips: Vec<String>,
    /// Sources refused for syslog.
    pub denied_ips: Vec<String>,
    /// Events buffered between the listener and the engine.
    pub queue_size: u32,
    /// Close an agent's counter file after this much idle time.
    #[serde(serialize_with = "seconds")]
    pub rids_closing_time: Duration,
    /// A second connection may take over an agent after this much silence.
    #[serde(serialize_with = "seconds")]
    pub connection_overtake_time: Duration,
    /// Accept agents newer than the manager.
    pub allow_higher_versions: bool,
    /// How the data plane does I/O (vigil's `<io_driver>`).
    pub io_driver: IoDriver,
    /// Data-plane threads, one per core by default (vigil's `<workers>`; 0: one per core).
    pub workers: usize,
    /// Time a connection has to send its first frame or finish one it began (vigil's
    /// `<frame_timeout>`).
    #[serde(serialize_with = "seconds")]
    pub frame_timeout: Duration,
}

/// The data plane's I/O driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IoDriver {
    /// io_uring when the kernel allows it, else epoll.
    Auto,
    /// epoll, even where io_uring works.
    Poll,
}

impl Default for Remote {
    fn default() -> Self {
        Self {
            listeners: Vec::new(),
            allowed_ips: Vec::new(),
            denied_ips: Vec::new(),
            queue_size: 131_072,
            rids_closing_time: Duration::from_secs(300),
            connection_overtake_time: Duration::from_secs(60),
            allow_higher_versions: false,
            io_driver: IoDriver::Auto,
            workers: 0,
            frame_timeout: Duration::from_secs(30),
        }
    }
}

fn valid_source(text: &str) -> bool {
    let addr = text.strip_prefix('!').unwrap_or(text);
    addr == "any" || addr.parse::<crate::store::AgentIp>().is_ok()
}

impl Remote {
    /// Reads one `<remote>` block: one more listener.
    pub fn read(&mut self, r: &mut Reader<'_>, section: &Element) {
        let mut connection = None;
        let mut port = None;
        let mut protocol: Option<&Element> = None;
        let mut ipv6 = false;
        let mut local_ip = None;
        self.rids_closing_time = Duration::from_secs(300);
        for el in section.children() {
            match el.name.to_ascii_lowercase().as_str() {
                "connection" => match el.text.as_str() {
                    "secure" => connection = Some(Connection::Secure),
                    "syslog" => connection = Some(Connection::Syslog),
                    _ => r.invalid_value(el),
                },
                "port" => {
                    let mut p = 0u16;
                    r.number(el, 1..=u16::MAX, &mut p);
                    port = Some(p).filter(|p| *p != 0);
                }
                "protocol" => protocol = Some(el),
                "ipv6" => match el.text.to_ascii_lowercase().as_str() {
                    "yes" => ipv6 = true,
                    "no" => ipv6 = false,
                    _ => r.warn(el, format!("Ignored invalid value '{}' for 'ipv6'.", el.text)),
                },
                "local_ip" => match el.text.parse() {
                    Ok(ip) => local_ip = Some(ip),
                    Err(_) => r.error(el, format!("Invalid ip address: '{}'.", el.text)),
                },
                "allowed-ips" | "denied-ips" if !valid_source(&el.text) => {
                    r.error(el, format!("Invalid ip address: '{}'.", el.text));
                }
                "allowed-ips" => self.allowed_ips.push(el.text.clone()),
                "denied-ips" => self.denied_ips.push(el.text.clone()),
                "queue_size" => r.number(el, 1..=u32::MAX, &mut self.queue_size),
                "rids_closing_time" => match parse_time(&el.text) {
                    Some(d) if el.text.ends_with(|c: char| c.is_ascii_digit() || "sSmMhHdD".contains(c)) => {
                        self.rids_closing_time = d;
                    }
                    _ => r.warn(el, format!("Invalid value '{}' for 'rids_closing_time'; using 5m.", el.text)),
                },
                "connection_overtake_time" => {
                    let mut secs = 60u64;
                    r.number(el, 0..=3600, &mut secs);
                    self.connection_overtake_time = Duration::from_secs(secs);
                }
                "io_driver" => match el.text.as_str() {
                    "auto" => self.io_driver = IoDriver::Auto,
                    "poll" | "epoll" => self.io_driver = IoDriver::Poll,
                    _ => r.invalid_value(el),
                },
                "workers" => r.number(el, 0..=1024, &mut self.workers),
                "frame_timeout" => match parse_time(&el.text).filter(|d| !d.is_zero()) {
                    Some(d) => self.frame_timeout = d,
                    None => r.invalid_value(el),
                },
                "agents" => {
                    for child in el.children() {
                        match child.name.as_str() {
                            "allow_higher_versions" => r.yes_no(child, &mut self.allow_higher_versions),
                            _ => r.warn(child, format!("Invalid element in the configuration: '{}'.", child.name)),
                        }
                    }
                }
                _ => r.invalid_element(el),
            }
        }
        let Some(connection) = connection else {
            r.error(section, "No remote connection configured.");
            return;
        };
        if connection == Connection::Secure && self.listeners.iter().any(|l| l.connection == Connection::Secure) {
            r.error(section, "Only one secure remote connection can be configured.");
            return;
        }
        let (mut tcp, mut udp) = (false, false);
        if let Some(el) = protocol {
            for token in el.text.split(',').map(str::trim) {
                match token.to_ascii_lowercase().as_str() {
                    "tcp" => tcp = true,
                    "udp" => udp = true,
                    _ => r.warn(el, format!("Ignored invalid value '{token}' for 'protocol'.")),
                }
            }
        }
        if !tcp && !udp {
            tcp = true;
        }
        if connection == Connection::Syslog && tcp && udp {
            r.warn(section, "Only one protocol is allowed for syslog connections; using TCP.");
            udp = false;
        }
        let default_port = if connection == Connection::Secure { 1514 } else { 514 };
        self.listeners.push(Listener { connection, port: port.unwrap_or(default_port), tcp, udp, ipv6, local_ip });
    }
}
