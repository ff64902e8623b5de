//! Agent enrollment: Wazuh's authd on `<auth><port>` (1515) over TLS (protocol.md §1).
//!
//! The request parser ([`request`]) and the policy ([`policy`]) do no I/O; the listener
//! ([`listener`]) admits connections ([`limits`]), runs the handshake and reads one line; the
//! committer ([`commit`]) decides and stores enrollments in batches, so an agent is in the store,
//! where the connection service finds it, before its key is sent.

pub mod cert;
pub mod client;
pub mod commit;
pub mod error;
pub mod groups;
pub mod limits;
mod listener;
pub mod password;
pub mod policy;
pub mod request;
pub mod stats;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use tokio::net::TcpSocket;
use tracing::{info, warn};

pub use error::EnrollError;
pub use limits::Limits;
pub use password::Password;
pub use stats::{Counters, Outcome};

use crate::config::Auth;
use crate::store::Store;

/// Connections the kernel queues before they are accepted.
const BACKLOG: u32 = 4096;

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The certificate, key or agent CA cannot be used.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The password file cannot be used.
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    /// The port cannot be bound.
    #[error("Unable to bind to port {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The reason.
        source: std::io::Error,
    },
    /// The committer thread cannot be started.
    #[error("cannot start the enrollment committer: {0}")]
    Thread(std::io::Error),
}

/// Everything the service runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where to listen.
    pub addr: SocketAddr,
    /// TLS, with client certificates required when `<ssl_agent_ca>` is set.
    pub tls: Arc<ServerConfig>,
    /// The password requests must carry.
    pub password: Option<Password>,
    /// Accept agents newer than the manager.
    pub allow_higher_versions: bool,
    /// Agent certificates must name their source address.
    pub verify_host: bool,
    /// Who may enroll.
    pub policy: policy::Policy,
    /// Connection limits.
    pub limits: Limits,
}

impl Settings {
    /// Settings from `<auth>` for the home at `root`: TLS files and the password are read (the
    /// password generated into `etc/authd.pass` when missing; the log never shows it).
    pub fn from_config(auth: &Auth, root: &Path, manager_name: String) -> Result<Self, StartError> {
        let ca = auth.ssl_agent_ca.as_ref().map(|ca| root.join(ca));
        let mut tls = crate::tls::server_config(
            &root.join(&auth.ssl_manager_cert),
            &root.join(&auth.ssl_manager_key),
            ca.as_deref(),
        )?;
        // An agent enrolls once: session tickets and a session cache would only cost.
        tls.send_tls13_tickets = 0;
        tls.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        let password = if auth.use_password {
            let path = root.join("etc/authd.pass");
            let (password, origin) = Password::load_or_generate(&path)?;
            match origin {
                password::Origin::File => {
                    info!(
                        "Accepting connections on port {}. Using password specified on file: {}",
                        auth.port,
                        path.display()
                    );
                }
                password::Origin::Generated => info!(
                    "Accepting connections on port {}. Random password generated into {} (mode 0600); give it to the agents from there",
                    auth.port,
                    path.display()
                ),
            }
            Some(password)
        } else {
            info!("Accepting connections on port {}. No password required.", auth.port);
            None
        };
        if auth.ciphers != crate::config::DEFAULT_CIPHERS || auth.ssl_auto_negotiate {
            warn!(
                "<ciphers> and <ssl_auto_negotiate> are OpenSSL settings: vigil offers rustls' suites only (TLS 1.3 \
                 AES-GCM and ChaCha20-Poly1305; TLS 1.2 ECDHE with AES-GCM or ChaCha20-Poly1305)"
            );
        }
        let ip: IpAddr = if auth.ipv6 { Ipv6Addr::UNSPECIFIED.into() } else { Ipv4Addr::UNSPECIFIED.into() };
        Ok(Self {
            addr: SocketAddr::new(ip, auth.port),
            tls: Arc::new(tls),
            password,
            allow_higher_versions: auth.allow_higher_versions,
            verify_host: auth.ssl_verify_host && ca.is_some(),
            policy: policy::Policy::new(auth, root, manager_name),
            limits: auth.limits,
        })
    }
}

/// The running service; it stops when the runtime it was started on shuts down.
#[derive(Debug)]
pub struct Service {
    /// Where it listens (the port the kernel chose when 0 was asked for).
    pub local_addr: SocketAddr,
    /// Outcomes so far.
    pub counters: Arc<Counters>,
}

/// Binds and starts serving on the current tokio runtime. `committed` runs after each store
/// transaction that enrolled agents (to rewrite client.keys). With `cluster`, enrollments are
/// claimed in its registry.
pub fn start(
    settings: Settings,
    store: Store,
    cluster: Option<Arc<crate::cluster::Cluster>>,
    committed: impl Fn() + Send + 'static,
) -> Result<Service, StartError> {
    let addr = settings.addr;
    let bind = |source| StartError::Bind { addr, source };
    let socket = if addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }.map_err(bind)?;
    socket.set_reuseaddr(true).map_err(bind)?;
    socket.bind(addr).map_err(bind)?;
    let listener = socket.listen(BACKLOG).map_err(bind)?;
    let local_addr = listener.local_addr().map_err(bind)?;
    let counters = Arc::new(Counters::default());
    let committer = commit::Committer::spawn(store, settings.policy, cluster, committed).map_err(StartError::Thread)?;
    let shared = Arc::new(listener::Shared {
        acceptor: tokio_rustls::TlsAcceptor::from(settings.tls),
        gate: limits::Gate::new(settings.limits),
        limits: settings.limits,
        counters: Arc::clone(&counters),
        committer,
        password: settings.password,
        allow_higher_versions: settings.allow_higher_versions,
        verify_host: settings.verify_host,
    });
    tokio::spawn(listener::serve(listener, shared));
    info!(%local_addr, "Enrollment service listening");
    Ok(Service { local_addr, counters })
}
