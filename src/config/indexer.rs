//! `<indexer>`: the OpenSearch (Wazuh indexer) connection, read as Wazuh ≥ 4.8 means it, plus
//! vigil's shipper tuning in a `<shipper>` child.

use std::time::Duration;

use serde::Serialize;

use super::value::Reader;
use crate::xml::Element;

/// TLS material for the indexer connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct IndexerSsl {
    /// CA certificates.
    pub certificate_authorities: Vec<String>,
    /// Client certificate.
    pub certificate: Option<String>,
    /// Client key.
    pub key: Option<String>,
}

/// How alerts are batched to `_bulk` (vigil's addition).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shipper {
    /// Documents per request at most.
    pub batch_docs: u32,
    /// Bytes per request at most.
    pub batch_bytes: u64,
    /// A partial batch waits this long at most for more lines (milliseconds in the config).
    #[serde(serialize_with = "super::value::millis")]
    pub flush_interval: Duration,
    /// File holding `username:password` for the indexer (Wazuh keeps these in its keystore).
    pub credentials_file: Option<String>,
    /// gzip level of request bodies (0: none).
    pub compression: u32,
    /// Ship archives.json too (Filebeat's `archives` fileset; off as there).
    pub archives: bool,
    /// The index template installed when absent (Wazuh's `wazuh-template.json`); relative
    /// paths are under the home.
    pub template: String,
    /// A GeoLite2/GeoIP2 City database for `GeoLocation` (none: no GeoLocation).
    pub geoip: Option<String>,
}

impl Default for Shipper {
    fn default() -> Self {
        Self {
            batch_docs: 1000,
            batch_bytes: 5 << 20,
            flush_interval: Duration::from_millis(100),
            credentials_file: None,
            compression: 0,
            archives: false,
            template: "etc/wazuh-template.json".to_owned(),
            geoip: None,
        }
    }
}

/// Indexer settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Indexer {
    /// Ship alerts. Off when the block is absent.
    pub enabled: bool,
    /// Node URLs.
    pub hosts: Vec<String>,
    /// TLS.
    pub ssl: IndexerSsl,
    /// Batching.
    pub shipper: Shipper,
}

impl Default for Indexer {
    fn default() -> Self {
        Self {
            enabled: false,
            hosts: vec!["http://localhost:9200".into()],
            ssl: IndexerSsl::default(),
            shipper: Shipper::default(),
        }
    }
}

impl Indexer {
    /// Reads one `<indexer>` block; as in Wazuh, the last block wins. Unknown elements are
    /// warnings there, not errors.
    pub fn read(&mut self, r: &mut Reader<'_>, section: &Element) {
        *self = Self { enabled: true, ..Self::default() };
        for el in section.children() {
            match el.name.as_str() {
                "enabled" => r.yes_no(el, &mut self.enabled),
                "hosts" => {
                    self.hosts = el.children().map(|h| h.text.clone()).collect();
                    if self.hosts.is_empty() {
                        r.error(el, "indexer.hosts is empty.");
                    }
                }
                "ssl" => self.read_ssl(r, el),
                "shipper" => self.read_shipper(r, el),
                _ => r.warn(el, format!("Invalid element in the configuration: 'indexer.{}'.", el.name)),
            }
        }
    }

    fn read_ssl(&mut self, r: &mut Reader<'_>, ssl: &Element) {
        for el in ssl.children() {
            match el.name.as_str() {
                "certificate_authorities" => {
                    self.ssl.certificate_authorities = el.children().map(|c| c.text.clone()).collect();
                    if self.ssl.certificate_authorities.is_empty() {
                        r.error(el, "indexer.ssl.certificate_authorities is empty.");
                    }
                }
                "certificate" => r.text(el, &mut self.ssl.certificate),
                "key" => r.text(el, &mut self.ssl.key),
                _ => r.warn(el, format!("Invalid element in the configuration: 'indexer.ssl.{}'.", el.name)),
            }
        }
    }

    fn read_shipper(&mut self, r: &mut Reader<'_>, shipper: &Element) {
        for el in shipper.children() {
            match el.name.as_str() {
                "batch_docs" => r.number(el, 1..=100_000, &mut self.shipper.batch_docs),
                "batch_bytes" => r.number(el, 1024..=1 << 30, &mut self.shipper.batch_bytes),
                "flush_interval" => {
                    let mut ms = 100u64;
                    r.number(el, 0..=3_600_000, &mut ms);
                    self.shipper.flush_interval = Duration::from_millis(ms);
                }
                "credentials_file" => r.text(el, &mut self.shipper.credentials_file),
                "compression" => r.number(el, 0..=9, &mut self.shipper.compression),
                "archives" => r.yes_no(el, &mut self.shipper.archives),
                "template" => self.shipper.template = el.text.clone(),
                "geoip" => r.text(el, &mut self.shipper.geoip),
                _ => r.invalid_element(el),
            }
        }
    }
}
