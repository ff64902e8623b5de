//! `<cluster>`: Wazuh's master/worker elements, read as Wazuh means them, plus vigil's NATS
//! settings in a `<nats>` child (vigil nodes are peers coordinated through NATS JetStream).

use serde::Serialize;

use super::value::{Reader, Secret};
use crate::xml::Element;

/// Wazuh's node role. vigil nodes are peers; the role is kept for compatibility and reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeType {
    /// Wazuh master.
    Master,
    /// Wazuh worker (`client` is its deprecated name).
    Worker,
}

/// How vigil reaches NATS (vigil's addition inside `<cluster>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nats {
    /// Server URLs, e.g. `tls://nats1:4222`.
    pub urls: Vec<String>,
    /// CA bundle that signs the NATS servers' certificates.
    pub ca: Option<String>,
    /// Client certificate.
    pub certificate: Option<String>,
    /// Client key.
    pub key: Option<String>,
    /// NATS credentials file (JWT + seed).
    pub credentials: Option<String>,
    /// Copies JetStream keeps of each bucket (1 for one NATS server, 3 for three).
    pub replicas: usize,
}

impl Default for Nats {
    fn default() -> Self {
        Self { urls: Vec::new(), ca: None, certificate: None, key: None, credentials: None, replicas: 1 }
    }
}

/// Cluster settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cluster {
    /// Off unless a `<cluster>` block says otherwise.
    pub disabled: bool,
    /// Cluster name.
    pub name: String,
    /// This node's name.
    pub node_name: String,
    /// Wazuh role.
    pub node_type: NodeType,
    /// Wazuh's 32-character cluster key.
    pub key: Option<Secret>,
    /// Wazuh's cluster port.
    pub port: u16,
    /// Wazuh's bind address.
    pub bind_addr: String,
    /// Wazuh's node list (the master first).
    pub nodes: Vec<String>,
    /// Hide cluster fields in alerts.
    pub hidden: bool,
    /// vigil's NATS connection.
    pub nats: Nats,
}

impl Default for Cluster {
    fn default() -> Self {
        Self {
            disabled: true,
            name: "wazuh".into(),
            node_name: "node01".into(),
            node_type: NodeType::Master,
            key: None,
            port: 1516,
            bind_addr: "0.0.0.0".into(),
            nodes: Vec::new(),
            hidden: false,
            nats: Nats::default(),
        }
    }
}

/// Characters Wazuh allows in cluster and node names.
fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!\"#$%&'-.:<=>?[\\]^_{|}~".contains(&b))
}

impl Cluster {
    /// Reads one `<cluster>` block.
    pub fn read(&mut self, r: &mut Reader<'_>, section: &Element) {
        self.disabled = false;
        for el in section.children() {
            match el.name.as_str() {
                "name" | "node_name" if !valid_name(&el.text) => r.invalid_value(el),
                "name" => el.text.clone_into(&mut self.name),
                "node_name" => el.text.clone_into(&mut self.node_name),
                "node_type" => match el.text.as_str() {
                    "master" => self.node_type = NodeType::Master,
                    "worker" | "client" => self.node_type = NodeType::Worker,
                    _ => r.invalid_value(el),
                },
                "key" => r.secret(el, &mut self.key),
                "port" => r.number(el, 1025..=65_534, &mut self.port),
                "bind_addr" => el.text.clone_into(&mut self.bind_addr),
                "nodes" => self.nodes.extend(el.children().map(|n| n.text.clone())),
                "hidden" => r.yes_no(el, &mut self.hidden),
                "disabled" => r.yes_no(el, &mut self.disabled),
                "nats" => self.read_nats(r, el),
                "interval" | "socket_timeout" | "connection_timeout" | "haproxy_helper" => r.unused(el),
                _ => r.invalid_element(el),
            }
        }
    }

    fn read_nats(&mut self, r: &mut Reader<'_>, nats: &Element) {
        for el in nats.children() {
            match el.name.as_str() {
                "url" => self.nats.urls.push(el.text.clone()),
                "ca" => r.text(el, &mut self.nats.ca),
                "certificate" => r.text(el, &mut self.nats.certificate),
                "key" => r.text(el, &mut self.nats.key),
                "credentials" => r.text(el, &mut self.nats.credentials),
                "replicas" => r.number(el, 1..=5, &mut self.nats.replicas),
                _ => r.invalid_element(el),
            }
        }
    }
}
