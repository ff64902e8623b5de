//! The native indexer output: what Filebeat and Wazuh's ingest pipeline do, done here. Each
//! shipped stream (alerts.json, and archives.json when asked) is read from the alert log by its
//! own thread from a place kept in the store, sent to OpenSearch with `_bulk` under
//! deterministic ids into Wazuh's daily indices, and confirmed before the place moves: at
//! least once, and never twice in the index. Configured by `<indexer>`.

pub mod bulk;
pub mod geo;
pub mod http;
pub mod ship;
pub mod stats;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};

use crate::config::Config;
use crate::output::consumers::Consumers;
use crate::output::dead_letter::{self, DeadLetter};
use crate::output::follow::Follower;
use crate::output::segments::Stream;
use stats::Stats;

/// A path from the config: absolute, or under the home.
fn under(home: &Path, path: &str) -> PathBuf {
    home.join(path)
}

/// `user:password` from a credentials file.
fn credentials(path: &Path) -> anyhow::Result<(String, String)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let line = text.lines().next().unwrap_or("");
    match line.split_once(':') {
        Some((user, password)) if !user.is_empty() => Ok((user.to_owned(), password.to_owned())),
        _ => bail!("{} must hold user:password", path.display()),
    }
}

/// Starts a shipper per shipped stream when `<indexer>` is enabled; gives their counters.
pub fn start(home: &Path, config: &Config, consumers: &Arc<Consumers>) -> anyhow::Result<Vec<Arc<Stats>>> {
    let indexer = &config.indexer;
    if !indexer.enabled {
        return Ok(Vec::new());
    }
    let logs = home.join("logs");
    let mut streams: Vec<(Stream, bulk::Target)> = Vec::new();
    if config.global.jsonout_output {
        streams.push((crate::output::writer::alerts_json(&logs), bulk::ALERTS));
    } else {
        tracing::warn!(stage = "indexer", "<jsonout_output> is off: there are no alerts to ship");
    }
    if indexer.shipper.archives && config.global.logall_json {
        streams.push((crate::output::writer::archives_json(&logs), bulk::ARCHIVES));
    }
    // Registered before anything can fail: even when shipping cannot start, the files it has
    // not read yet are not compressed away under it.
    let mut places = Vec::new();
    for (stream, target) in &streams {
        let name = format!("indexer.{}", target.tag);
        places.push(consumers.register(&name, stream).context("cannot read the shipping place")?);
    }
    let hosts = indexer
        .hosts
        .iter()
        .map(|h| http::Url::parse(h).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let tls = if hosts.iter().any(|h| h.tls) {
        let cas: Vec<PathBuf> = indexer.ssl.certificate_authorities.iter().map(|p| under(home, p)).collect();
        if cas.is_empty() {
            bail!("https indexer hosts need <ssl><certificate_authorities>");
        }
        let cert = indexer.ssl.certificate.as_deref().map(|p| under(home, p));
        let key = indexer.ssl.key.as_deref().map(|p| under(home, p));
        let identity = cert.as_deref().zip(key.as_deref());
        Some(crate::tls::verifying_client_config(&cas, identity).context("indexer TLS settings")?)
    } else {
        None
    };
    let shipper = &indexer.shipper;
    let login = shipper.credentials_file.as_deref().map(|p| credentials(&under(home, p))).transpose()?;
    let template_path = under(home, &shipper.template);
    let template = match std::fs::read(&template_path) {
        Ok(bytes) => Some(hyper::body::Bytes::from(bytes)),
        Err(e) => {
            tracing::warn!(stage = "indexer", file = %template_path.display(), "no index template ({e}): indices get the indexer's dynamic mappings");
            None
        }
    };
    let geo = shipper
        .geoip
        .as_deref()
        .map(|p| geo::Geo::open(&under(home, p)).map(Arc::new))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let settings = ship::Settings {
        batch_docs: shipper.batch_docs as usize,
        batch_bytes: usize::try_from(shipper.batch_bytes).unwrap_or(usize::MAX),
        flush_interval: shipper.flush_interval,
        compression: shipper.compression,
    };
    let mut all = Vec::new();
    for ((stream, target), place) in streams.into_iter().zip(places) {
        let name = format!("indexer.{}", target.tag);
        let log = Follower::at(&name, stream, consumers, place)?;
        let credentials = login.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
        let client = http::Client::new(hosts.clone(), tls.clone(), credentials)?;
        let stats = Arc::new(Stats::new(target.tag));
        let dead = DeadLetter::new(&dead_letter::path(home, "indexer", target.tag));
        let shipper = ship::Shipper::new(
            target,
            log,
            client,
            settings.clone(),
            geo.clone(),
            dead,
            Arc::clone(&stats),
            template.clone(),
        );
        std::thread::Builder::new().name(format!("vigil-indexer-{}", target.tag)).spawn(move || shipper.run())?;
        tracing::info!(stage = "indexer", stream = target.tag, hosts = ?indexer.hosts, "Shipping to the indexer");
        all.push(stats);
    }
    Ok(all)
}
