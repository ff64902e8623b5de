//! The NATS connection from `<cluster><nats>`: TLS with the given CA and client certificate,
//! credentials (JWT and seed), and reconnection for as long as the node runs.

use std::path::Path;
use std::time::Duration;

use async_nats::{ConnectOptions, Event};
use tracing::{error, info, warn};

use super::ClusterError;
use crate::config::Cluster as Config;

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a request (a KV operation) waits for its answer before failing.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// How often the server is pinged.
const PING_INTERVAL: Duration = Duration::from_secs(5);

/// The connection options `config` asks for; files are read now, so a wrong path fails the start.
/// A server keeps trying to connect (`retry`); a command gives up at once.
/// Each (re)connection bumps `reconnects`, when given.
pub fn options(
    config: &Config,
    home: &Path,
    retry: bool,
    reconnects: Option<tokio::sync::watch::Sender<u64>>,
) -> Result<ConnectOptions, ClusterError> {
    let nats = &config.nats;
    let mut options = ConnectOptions::new();
    if retry {
        options = options.retry_on_initial_connect();
    }
    let mut options = options
        .name(format!("vigil {}", config.node_name))
        .connection_timeout(CONNECT_TIMEOUT)
        .request_timeout(Some(REQUEST_TIMEOUT))
        // A link that silently drops packets (a partition) is noticed within a few pings.
        .ping_interval(PING_INTERVAL)
        .event_callback(move |event| {
            let reconnects = reconnects.clone();
            async move {
                match event {
                    Event::Connected => {
                        info!(stage = "cluster", "Connected to NATS");
                        if let Some(reconnects) = reconnects {
                            reconnects.send_modify(|n| *n += 1);
                        }
                    }
                    Event::Disconnected => warn!(stage = "cluster", "Disconnected from NATS; reconnecting"),
                    Event::ClientError(e) => warn!(stage = "cluster", "NATS: {e}"),
                    Event::ServerError(e) => warn!(stage = "cluster", "NATS server: {e}"),
                    other => tracing::debug!(stage = "cluster", "NATS: {other}"),
                }
            }
        });
    if let Some(file) = &nats.credentials {
        let path = home.join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ClusterError::Connect(format!("cannot read credentials {}: {e}", path.display())))?;
        options = options
            .credentials(&text)
            .map_err(|e| ClusterError::Connect(format!("credentials {} unusable: {e}", path.display())))?;
    }
    let check = |file: &str| {
        let path = home.join(file);
        match std::fs::metadata(&path) {
            Ok(_) => Ok(path),
            Err(e) => Err(ClusterError::Connect(format!("cannot read {}: {e}", path.display()))),
        }
    };
    if let Some(ca) = &nats.ca {
        options = options.add_root_certificates(check(ca)?).require_tls(true);
    }
    match (&nats.certificate, &nats.key) {
        (Some(cert), Some(key)) => options = options.add_client_certificate(check(cert)?, check(key)?),
        (None, None) => {}
        _ => return Err(ClusterError::Connect("<certificate> and <key> go together".into())),
    }
    Ok(options)
}

/// The server addresses of `urls`.
pub fn addresses(urls: &[String]) -> Result<Vec<async_nats::ServerAddr>, ClusterError> {
    urls.iter().map(|u| u.parse().map_err(|e| ClusterError::Connect(format!("invalid NATS URL: {e}")))).collect()
}

/// A client that keeps (re)connecting to `urls` on its own; `None` when the URLs are unusable.
pub async fn connect(options: ConnectOptions, urls: &[String]) -> Option<async_nats::Client> {
    let addrs = match addresses(urls) {
        Ok(addrs) => addrs,
        Err(e) => {
            error!(stage = "cluster", "{e}; the cluster service is not running");
            return None;
        }
    };
    match options.connect(addrs).await {
        Ok(client) => Some(client),
        Err(e) => {
            error!(stage = "cluster", "cannot connect to NATS: {e}; the cluster service is not running");
            None
        }
    }
}

/// The next item of `stream`, or `None` as soon as NATS reconnected: a watch does not survive a
/// server restart unnoticed for long, so its owner starts it again from where it was.
pub async fn next_or_reconnect<S: futures_util::Stream + Unpin>(
    stream: &mut S,
    reconnects: &mut tokio::sync::watch::Receiver<u64>,
) -> Option<S::Item> {
    use futures_util::StreamExt as _;
    tokio::select! {
        item = stream.next() => item,
        changed = reconnects.changed() => match changed {
            Ok(()) => None,
            // No more reconnections to hear of: only the stream matters.
            Err(_) => stream.next().await,
        },
    }
}

/// A watch of the keys under `filter` (`agent.>`…) of `bucket`: from their current values, or
/// from after revision `after`. Retried every second (counted, logged as `what`) until NATS
/// answers; marks the reconnections so far as seen.
pub async fn watch(
    bucket: &async_nats::jetstream::kv::Store,
    filter: &str,
    after: Option<u64>,
    what: &str,
    reconnects: &mut tokio::sync::watch::Receiver<u64>,
    stats: &super::stats::Stats,
) -> async_nats::jetstream::kv::Watch {
    loop {
        reconnects.borrow_and_update();
        let watch = match after {
            None => bucket.watch_with_history(filter).await,
            Some(revision) => bucket.watch_from_revision(filter, revision + 1).await,
        };
        match watch {
            Ok(watch) => return watch,
            Err(e) => {
                stats.watch_errors.inc();
                warn!(stage = "cluster", "cannot watch {what}: {e}; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
