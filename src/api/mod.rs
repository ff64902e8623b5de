//! The REST API on 55000: Wazuh's paths, envelope, JWT authentication and RBAC, served by axum on
//! hyper 1 with rustls, on the control-plane runtime.

pub mod access;
pub mod auth;
pub mod envelope;
pub mod error;
pub mod host;
pub mod query;
pub mod rbac;
pub mod reload;
pub mod routes;
mod serve;
pub mod xml_json;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tracing::{error, info};

pub use serve::serve;

use crate::config::Config;
use crate::logtest::Logtest;
use crate::remote::commands::Commands;
use crate::remote::stats::Stats;
use crate::server::queue::Sink;
use crate::store::Store;
use auth::guard::Guard;
use auth::jwt::Tokens;
use rbac::SecurityDb;

/// Where the default users' first passwords are written (owner-only), relative to the home.
pub const PASSWORDS_FILE: &str = "api/configuration/admin.passwords";

/// The services the API reaches; each is absent when not running.
#[derive(Debug, Default, Clone)]
pub struct Services {
    /// The engine in force (rules, decoders, lists), replaced on reload.
    pub engine: Option<Arc<crate::engine::live::Live>>,
    /// The logtest service.
    pub logtest: Option<Arc<Logtest>>,
    /// Where events go (`POST /events`).
    pub sink: Option<Arc<Sink>>,
    /// Messages to connected agents.
    pub commands: Option<Arc<Commands>>,
    /// remoted's counters.
    pub remote_stats: Option<Arc<Stats>>,
    /// Rewrites client.keys after registrations and removals.
    pub keys_file: Option<crate::server::keys_file::KeysFile>,
    /// The groups' merged files.
    pub shared: Option<Arc<crate::remote::shared::SharedFiles>>,
    /// The enrollment service runs.
    pub enrollment: bool,
    /// Wakes the server to stop and start again in place (`PUT /manager/restart`).
    pub restart: Option<Arc<tokio::sync::Notify>>,
    /// The cluster service, when `<cluster>` is enabled.
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
}

/// Everything handlers share.
#[derive(Debug)]
pub struct Api {
    /// Home root.
    pub home: PathBuf,
    /// The configuration in force.
    pub config: Arc<Config>,
    /// Agents and groups.
    pub store: Store,
    /// Users, roles, policies.
    pub security: SecurityDb,
    /// Token signing.
    pub tokens: Tokens,
    /// Lockout and rate limits.
    pub guard: Guard,
    /// Running services.
    pub services: Services,
    /// This manager's name.
    pub hostname: String,
    /// Start time, Unix seconds.
    pub started: i64,
    /// Ruleset changes, one at a time.
    pub reload_lock: tokio::sync::Mutex<()>,
    /// Events per second, from the engine's counter at each scrape.
    pub eps: crate::metrics::Rate,
    /// The OpenAPI document of the routes served (set when the router is built).
    pub spec: std::sync::OnceLock<serde_json::Value>,
}

/// Why the API cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The security database.
    #[error(transparent)]
    Security(#[from] rbac::SecurityError),
    /// The JWT key.
    #[error(transparent)]
    Token(#[from] auth::jwt::TokenError),
    /// TLS material.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The listener or the passwords file.
    #[error("{0}")]
    Io(String),
}

impl Api {
    /// Opens the security database (creating the defaults and writing the default users'
    /// passwords to [`PASSWORDS_FILE`] on first start) and the token key.
    pub fn open(home: &Path, config: Arc<Config>, store: Store, services: Services) -> Result<Self, StartError> {
        let now = jiff::Timestamp::now();
        let (security, first) = SecurityDb::open(store.clone(), &now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())?;
        if let Some(first) = first {
            let path = home.join(PASSWORDS_FILE);
            let text: String = first.passwords.iter().map(|(user, pw)| format!("{user}:{pw}\n")).collect();
            if let Some(dir) = path.parent() {
                use std::os::unix::fs::DirBuilderExt as _;
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|e| StartError::Io(format!("cannot create {}: {e}", dir.display())))?;
            }
            crate::home::Home::write_atomic(&path, text.as_bytes(), 0o600)
                .map_err(|e| StartError::Io(format!("cannot write {}: {e}", path.display())))?;
            info!(file = %path.display(), "API users 'wazuh' and 'wazuh-wui' created; their passwords are in this file (owner-only)");
        }
        let tokens = Tokens::open(home)?;
        let api = &config.api;
        Ok(Self {
            home: home.to_owned(),
            guard: Guard::new(api.max_login_attempts, api.block_time, api.max_request_per_minute),
            config,
            store,
            security,
            tokens,
            services,
            hostname: crate::home::hostname(),
            started: crate::server::now(),
            reload_lock: tokio::sync::Mutex::new(()),
            eps: crate::metrics::Rate::default(),
            spec: std::sync::OnceLock::new(),
        })
    }

    /// The cluster node name shown in answers.
    pub fn node_name(&self) -> &str {
        &self.config.cluster.node_name
    }
}

/// Starts the API on the current tokio runtime at the configured address; failures are logged
/// and the other services run on. Returns the bound address.
pub fn start(api: Arc<Api>) -> Option<SocketAddr> {
    let addr = SocketAddr::new(api.config.api.host, api.config.api.port);
    start_at(api, addr)
}

/// Starts the API at `addr` (port 0: any free port).
pub fn start_at(api: Arc<Api>, addr: SocketAddr) -> Option<SocketAddr> {
    let settings = &api.config.api;
    let tls = if settings.https {
        let cert = api.home.join(settings.cert.as_deref().unwrap_or(&api.config.auth.ssl_manager_cert));
        let key = api.home.join(settings.key.as_deref().unwrap_or(&api.config.auth.ssl_manager_key));
        match crate::tls::server_config(&cert, &key, None) {
            Ok(mut config) => {
                config.alpn_protocols = vec![b"http/1.1".to_vec()];
                Some(Arc::new(config))
            }
            Err(e) => {
                error!("API not started: {e}");
                return None;
            }
        }
    } else {
        None
    };
    let listener = match listen(addr) {
        Ok(l) => l,
        Err(e) => {
            error!("API not started: cannot listen on {addr}: {e}");
            return None;
        }
    };
    let local = listener.local_addr().ok();
    let (router, declared) = routes::router(Arc::clone(&api));
    info!(address = %addr, https = tls.is_some(), routes = declared.len(), "API listening");
    tokio::spawn(serve(listener, tls, router));
    local
}

/// A listening socket on `addr`.
fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4() } else { tokio::net::TcpSocket::new_v6() }?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}
