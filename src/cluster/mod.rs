//! Several vigil nodes serving one fleet (platform.md §2), coordinated through NATS JetStream
//! instead of Wazuh's master/worker daemon: nodes are peers, the registry of agents lives in a
//! KV bucket whose atomic operations keep ids and names unique ([`registry`]), each node keeps
//! its LMDB as a mirror fed by a watch ([`mirror`]), and nodes announce themselves with
//! expiring heartbeats, one of them holding a leader lease ([`members`]).
//!
//! With `<cluster>` disabled none of this runs. With NATS unreachable a node serves the agents
//! it knows and analyses their events; only registry writes (enrollments, removals) are refused.

pub mod admit;
pub mod cas;
pub mod connect;
pub mod files;
pub mod holders;
pub mod members;
pub mod mirror;
pub mod record;
pub mod registry;
pub mod relay;
pub mod seal;
pub mod stats;

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use tracing::{info, warn};

use self::holders::Holders;
use self::members::{Heartbeat, Load, NodeInfo, View};
use self::registry::{Registry, RegistryError};
use self::seal::Sealer;
use self::stats::Stats;
use crate::config::Cluster as Config;
use crate::store::Store;

/// Why the cluster service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Registry values are sealed with the cluster key: there must be one.
    #[error("<cluster><key> must be set (32 characters): registry values are sealed with it")]
    NoKey,
    /// No NATS server to reach.
    #[error("<cluster><nats><url> must name at least one NATS server")]
    NoUrls,
    /// The NATS connection settings cannot be used.
    #[error("NATS connection settings: {0}")]
    Connect(String),
    /// The sealing key cannot be derived.
    #[error(transparent)]
    Seal(#[from] seal::SealError),
}

/// What the cluster service needs from the rest of the server.
pub struct Wiring {
    /// The local store, mirrored from the registry.
    pub store: Store,
    /// Runs after the mirror changed the store (client.keys follows).
    pub changed: Arc<dyn Fn() + Send + Sync>,
    /// This node's load, for its heartbeat.
    pub load: Arc<dyn Fn() -> Load + Send + Sync>,
    /// The address peers and agents reach this node at.
    pub address: String,
    /// This node's agent connections, when it serves agents.
    pub commands: Option<Arc<crate::remote::commands::Commands>>,
    /// Puts the ruleset on disk in force (blocking), when this node runs the engine.
    pub reload: Option<Arc<dyn Fn() + Send + Sync>>,
}

/// One node's cluster service.
pub struct Cluster {
    /// The cluster's name.
    pub name: String,
    /// This node's name.
    pub node_name: String,
    /// Counters.
    pub stats: Arc<Stats>,
    /// The nodes alive, as of the last heartbeat.
    pub view: Arc<View>,
    /// Which node holds each agent's connection.
    pub holders: Arc<Holders>,
    client: OnceLock<async_nats::Client>,
    registry: OnceLock<Registry>,
    files: OnceLock<kv::Store>,
    /// Seals shared files.
    files_sealer: Arc<Sealer>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("name", &self.name).field("node_name", &self.node_name).finish()
    }
}

/// Longest a registry operation may take: a NATS that stopped answering (restarting, cut off)
/// must fail the operation, not hang whoever waits for it.
pub const OP_TIMEOUT: Duration = Duration::from_secs(5);

/// `operation`, failed as unavailable when it takes longer than [`OP_TIMEOUT`].
pub async fn bounded<T>(operation: impl Future<Output = Result<T, RegistryError>>) -> Result<T, RegistryError> {
    tokio::time::timeout(OP_TIMEOUT, operation)
        .await
        .unwrap_or_else(|_| Err(RegistryError::Unavailable("NATS did not answer in time".into())))
}

/// This node's address as agents reach it (the first non-loopback address, else loopback).
pub fn local_address() -> String {
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("192.0.2.1:9").map(|()| s))
        .and_then(|s| s.local_addr())
        .map_or_else(|_| "127.0.0.1".to_owned(), |a| a.ip().to_string())
}

/// The JetStream bucket names of a cluster (KV names allow letters, digits, `-` and `_`).
pub fn bucket(cluster: &str, what: &str) -> String {
    let name: String = cluster.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    format!("vigil_{name}_{what}")
}

impl Cluster {
    /// Starts the service on the current tokio runtime: it connects (retrying for as long as
    /// NATS is away), creates its buckets if missing, and then mirrors and beats for good.
    pub fn start(config: &Config, home: &Path, wiring: Wiring) -> Result<Arc<Self>, ClusterError> {
        let key = config.key.as_ref().ok_or(ClusterError::NoKey)?;
        if config.nats.urls.is_empty() {
            return Err(ClusterError::NoUrls);
        }
        let sealer = Arc::new(Sealer::new(key.expose(), &format!("agents of {}", config.name))?);
        // Watches start again at each reconnection (a restarted server lost them).
        let (reconnected, reconnects) = tokio::sync::watch::channel(0u64);
        let options = connect::options(config, home, true, Some(reconnected))?;
        let cluster = Arc::new(Self {
            name: config.name.clone(),
            node_name: config.node_name.clone(),
            stats: Arc::new(Stats::default()),
            view: Arc::new(View::default()),
            holders: Arc::new(Holders::default()),
            client: OnceLock::new(),
            registry: OnceLock::new(),
            files: OnceLock::new(),
            files_sealer: Arc::new(Sealer::new(key.expose(), &format!("files of {}", config.name))?),
        });
        let commands_sealer = Arc::new(Sealer::new(key.expose(), &format!("commands of {}", config.name))?);
        let started = Arc::clone(&cluster);
        let urls = config.nats.urls.clone();
        let replicas = config.nats.replicas;
        let home = home.to_owned();
        tokio::spawn(async move {
            let Some(client) = connect::connect(options, &urls).await else { return };
            let _ = started.client.set(client.clone());
            let buckets = Buckets::open(&jetstream::new(client.clone()), &started.name, replicas).await;
            let registry = Registry::new(buckets.agents.clone(), sealer);
            let _ = started.registry.set(registry.clone());
            let Wiring { store, changed, load, address, commands, reload } = wiring;
            let _ = started.files.set(buckets.files.clone());
            let home = home.clone();
            let sealer = Arc::clone(&started.files_sealer);
            tokio::spawn(files::follow(
                buckets.files,
                home,
                store.clone(),
                sealer,
                reload,
                reconnects.clone(),
                Arc::clone(&started.stats),
            ));
            let stats = Arc::clone(&started.stats);
            tokio::spawn(mirror::run(
                registry,
                buckets.agents,
                store.clone(),
                changed,
                reconnects.clone(),
                Arc::clone(&stats),
            ));
            let holders = Arc::clone(&started.holders);
            tokio::spawn(Arc::clone(&holders).follow(
                buckets.connections.clone(),
                reconnects.clone(),
                Arc::clone(&stats),
            ));
            let node = started.node_name.clone();
            let view = Arc::clone(&started.view);
            tokio::spawn(holders::sweep(buckets.connections.clone(), Arc::clone(&holders), view, node.clone()));
            if let Some(commands) = commands {
                let subject = relay::subject(&started.name, &node);
                tokio::spawn(relay::serve(
                    client.clone(),
                    subject,
                    Arc::clone(&commands),
                    Arc::clone(&commands_sealer),
                ));
                let connections = buckets.connections.clone();
                tokio::spawn(holders::publish(
                    connections,
                    node.clone(),
                    Arc::clone(&commands),
                    Arc::clone(&holders),
                    store.clone(),
                    Arc::clone(&stats),
                ));
                commands.set_relay(Arc::new(relay::NatsRelay {
                    client,
                    cluster: started.name.clone(),
                    node,
                    holders,
                    runtime: tokio::runtime::Handle::current(),
                    stats,
                    sealer: commands_sealer,
                }));
            }
            let me = NodeInfo {
                name: started.node_name.clone(),
                address,
                version: env!("CARGO_PKG_VERSION").to_owned(),
                agents: 0,
                eps: 0,
                started: crate::server::now(),
                seen: 0,
            };
            let heartbeat = Heartbeat {
                nodes: buckets.nodes,
                lease: buckets.lease,
                me,
                load,
                view: Arc::clone(&started.view),
                stats: Arc::clone(&started.stats),
            };
            tokio::spawn(heartbeat.run());
        });
        info!(stage = "cluster", cluster = %config.name, node = %config.node_name, "Cluster service started");
        Ok(cluster)
    }

    /// Whether NATS is reachable now.
    pub fn connected(&self) -> bool {
        self.client.get().is_some_and(|c| c.connection_state() == async_nats::connection::State::Connected)
    }

    /// The registry, when NATS is reachable and the buckets are ready.
    pub fn registry(&self) -> Result<&Registry, RegistryError> {
        match self.registry.get() {
            Some(registry) if self.connected() => Ok(registry),
            _ => {
                self.stats.unavailable.inc();
                Err(RegistryError::Unavailable("NATS cannot be reached".into()))
            }
        }
    }
}

/// The buckets one node uses.
struct Buckets {
    agents: kv::Store,
    connections: kv::Store,
    files: kv::Store,
    nodes: kv::Store,
    lease: kv::Store,
}

impl Buckets {
    /// Opens (creating when missing) the cluster's buckets, retrying until NATS answers.
    async fn open(js: &jetstream::Context, cluster: &str, replicas: usize) -> Self {
        let config = |what: &str, max_age: Duration| kv::Config {
            bucket: bucket(cluster, what),
            history: 1,
            max_age,
            max_value_size: 64 * 1024,
            num_replicas: replicas,
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        };
        let mut warned = false;
        loop {
            let opened = async {
                Ok::<_, String>(Self {
                    agents: open_bucket(js, config("agents", Duration::ZERO)).await?,
                    connections: open_bucket(js, config("connections", Duration::ZERO)).await?,
                    files: open_bucket(
                        js,
                        kv::Config { max_value_size: files::MAX_FILE as i32 + 64, ..config("files", Duration::ZERO) },
                    )
                    .await?,
                    nodes: open_bucket(js, config("nodes", members::NODE_TTL)).await?,
                    lease: open_bucket(js, config("lease", members::LEASE_TTL)).await?,
                })
            };
            match opened.await {
                Ok(buckets) => {
                    info!(stage = "cluster", "Cluster buckets ready");
                    return buckets;
                }
                Err(e) if !warned => {
                    warned = true;
                    warn!(stage = "cluster", "cannot open the cluster's buckets yet: {e}; retrying");
                }
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

async fn open_bucket(js: &jetstream::Context, config: kv::Config) -> Result<kv::Store, String> {
    let name = config.bucket.clone();
    match js.get_key_value(&name).await {
        Ok(store) => Ok(store),
        Err(_) => js.create_key_value(config).await.map_err(|e| format!("bucket {name}: {e}")),
    }
}
