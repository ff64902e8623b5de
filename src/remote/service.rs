//! The data plane: one pinned thread per core, each with its own compio runtime (io_uring,
//! or epoll where io_uring is refused or `<io_driver>poll` asks for it) and its own
//! `SO_REUSEPORT` listener, so the kernel spreads agents across cores and a connection never
//! moves.

use std::cell::RefCell;
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use compio::driver::{DriverType, ProactorBuilder};
use tracing::{error, info, warn};

use super::beats::Beats;
use super::commands::Commands;
use super::connection;
use super::core::{Core, SendCounter};
use super::keys::KeyTable;
use super::live::LiveAgents;
use super::shared::SharedFiles;
use super::stats::Stats;
use super::status::StatusWriter;
use super::syslog::{self, Access};
use super::udp;
use crate::config::{Connection, IoDriver};
use crate::server::queue::Sink;
use crate::store::Store;

/// How often each core re-reads the agents (removed agents, replaced keys).
const KEYS_REFRESH: Duration = Duration::from_secs(10);
/// How often the cores look whether an agent's key changed.
const KEYS_CHECK: Duration = Duration::from_secs(1);

/// A socket every core opens, with `SO_REUSEPORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Agents over TCP.
    SecureTcp(SocketAddr),
    /// Agents over UDP.
    SecureUdp(SocketAddr),
    /// Syslog senders over TCP.
    SyslogTcp(SocketAddr),
    /// Syslog senders over UDP.
    SyslogUdp(SocketAddr),
}

impl Endpoint {
    fn addr(self) -> SocketAddr {
        match self {
            Self::SecureTcp(a) | Self::SecureUdp(a) | Self::SyslogTcp(a) | Self::SyslogUdp(a) => a,
        }
    }

    fn with_addr(self, addr: SocketAddr) -> Self {
        match self {
            Self::SecureTcp(_) => Self::SecureTcp(addr),
            Self::SecureUdp(_) => Self::SecureUdp(addr),
            Self::SyslogTcp(_) => Self::SyslogTcp(addr),
            Self::SyslogUdp(_) => Self::SyslogUdp(addr),
        }
    }
}

/// An endpoint's socket on one core.
enum Bound {
    Tcp(Endpoint, std::net::TcpListener),
    Udp(Endpoint, std::net::UdpSocket),
}

/// Where and how the data plane runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The sockets each core serves.
    pub endpoints: Vec<Endpoint>,
    /// Who may send syslog.
    pub syslog_access: Access,
    /// Threads (one per core).
    pub workers: usize,
    /// I/O driver.
    pub driver: IoDriver,
    /// Accept agents newer than the manager.
    pub allow_higher_versions: bool,
    /// `etc/shared`, where the groups' files are.
    pub shared_dir: PathBuf,
    /// `var/multigroups`, where multigroups' folders are laid out.
    pub multigroups_dir: PathBuf,
    /// A connection silent this long may be replaced by another for the same agent.
    pub overtake: Duration,
    /// Time to send a first frame, or to finish a frame begun.
    pub frame_timeout: Duration,
    /// Agents silent this long are sent nothing (`<agents_disconnection_time>`).
    pub disconnection: Duration,
}

impl Settings {
    /// The `<remote>` listeners, for the home at `root`; `None` when there is none to serve.
    /// A syslog listener is left out, as remoted leaves it, when no source is allowed.
    pub fn from_config(config: &crate::config::Config, root: &std::path::Path) -> Option<Self> {
        let remote = &config.remote;
        let syslog_access = match Access::new(&remote.allowed_ips, &remote.denied_ips) {
            Ok(access) => access,
            Err(e) => {
                error!("{e} in <allowed-ips>/<denied-ips>: syslog refused from everywhere");
                Access::default()
            }
        };
        let mut endpoints = Vec::new();
        for listener in &remote.listeners {
            let any: IpAddr = if listener.ipv6 { Ipv6Addr::UNSPECIFIED.into() } else { Ipv4Addr::UNSPECIFIED.into() };
            let addr = SocketAddr::new(listener.local_ip.unwrap_or(any), listener.port);
            match listener.connection {
                Connection::Secure => {
                    if listener.tcp {
                        endpoints.push(Endpoint::SecureTcp(addr));
                    }
                    if listener.udp {
                        endpoints.push(Endpoint::SecureUdp(addr));
                    }
                }
                Connection::Syslog if syslog_access.is_closed() => info!(
                    "(1501): IP or network must be present in syslog access list (allowed-ips). Syslog server disabled."
                ),
                Connection::Syslog => {
                    if listener.tcp {
                        endpoints.push(Endpoint::SyslogTcp(addr));
                    }
                    if listener.udp {
                        endpoints.push(Endpoint::SyslogUdp(addr));
                    }
                }
            }
        }
        if endpoints.is_empty() {
            return None;
        }
        let workers = match remote.workers {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        Some(Self {
            endpoints,
            syslog_access,
            workers,
            driver: remote.io_driver,
            allow_higher_versions: remote.allow_higher_versions,
            shared_dir: root.join("etc/shared"),
            multigroups_dir: root.join("var/multigroups"),
            overtake: remote.connection_overtake_time,
            frame_timeout: remote.frame_timeout,
            disconnection: config.global.agents_disconnection_time,
        })
    }
}

/// The running data plane.
#[derive(Debug)]
pub struct Service {
    /// Where agents connect, when a secure listener is served.
    pub local_addr: Option<SocketAddr>,
    /// Every endpoint served, ports resolved.
    pub endpoints: Vec<Endpoint>,
    /// The driver each core runs.
    pub drivers: Vec<DriverType>,
    /// The counters.
    pub stats: Arc<Stats>,
    /// Sends to connected agents.
    pub commands: Arc<Commands>,
    /// The groups' merged files.
    pub shared: Arc<SharedFiles>,
    /// Each core's heartbeat.
    pub beats: Arc<Beats>,
}

/// A socket of `kind` bound to `addr` with `SO_REUSEPORT`, so every core has one on the same
/// port and the kernel spreads peers across cores.
fn reuseport(addr: SocketAddr, kind: socket2::Type, protocol: socket2::Protocol) -> std::io::Result<socket2::Socket> {
    let domain = if addr.is_ipv4() { socket2::Domain::IPV4 } else { socket2::Domain::IPV6 };
    let socket = socket2::Socket::new(domain, kind, Some(protocol))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// A listening TCP socket with `SO_REUSEPORT`.
fn reuseport_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = reuseport(addr, socket2::Type::STREAM, socket2::Protocol::TCP)?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    Ok(socket.into())
}

/// A datagram socket with `SO_REUSEPORT`.
fn reuseport_udp(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    let socket = reuseport(addr, socket2::Type::DGRAM, socket2::Protocol::UDP)?;
    // Bursts of datagrams wait in the kernel rather than being lost while a core is busy.
    let _ = socket.set_recv_buffer_size(8 << 20);
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Claims the port the way a plain listener would, so a second server on the same port fails
/// as Wazuh's would, instead of sharing it through `SO_REUSEPORT`. Returns the port's address.
fn claim(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let probe = std::net::TcpListener::bind(addr)?;
    probe.local_addr()
}

/// [`claim`] for a datagram port.
fn claim_udp(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let probe = std::net::UdpSocket::bind(addr)?;
    probe.local_addr()
}

/// Claims every endpoint's port (resolving port 0), failing on the first one taken.
fn claim_all(endpoints: &[Endpoint]) -> std::io::Result<Vec<Endpoint>> {
    endpoints
        .iter()
        .map(|endpoint| {
            let addr = match endpoint {
                Endpoint::SecureUdp(addr) | Endpoint::SyslogUdp(addr) => claim_udp(*addr),
                Endpoint::SecureTcp(addr) | Endpoint::SyslogTcp(addr) => claim(*addr),
            };
            addr.map(|addr| endpoint.with_addr(addr))
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", endpoint.addr())))
        })
        .collect()
}

/// Whether each endpoint's port could be had now (`vigil serve --check`), named like `1514/tcp`.
pub fn check_ports(endpoints: &[Endpoint]) -> Vec<(String, std::io::Result<()>)> {
    endpoints
        .iter()
        .map(|endpoint| {
            let proto = if matches!(endpoint, Endpoint::SecureUdp(_) | Endpoint::SyslogUdp(_)) { "udp" } else { "tcp" };
            let name = format!("{}/{proto}", endpoint.addr().port());
            (name, claim_all(std::slice::from_ref(endpoint)).map(drop))
        })
        .collect()
}

/// One core's sockets for `endpoints`.
fn bind_all(endpoints: &[Endpoint]) -> std::io::Result<Vec<Bound>> {
    endpoints
        .iter()
        .map(|endpoint| match endpoint {
            Endpoint::SecureUdp(addr) | Endpoint::SyslogUdp(addr) => {
                reuseport_udp(*addr).map(|s| Bound::Udp(*endpoint, s))
            }
            Endpoint::SecureTcp(addr) | Endpoint::SyslogTcp(addr) => {
                reuseport_listener(*addr).map(|l| Bound::Tcp(*endpoint, l))
            }
        })
        .collect()
}

/// Starts one thread per worker; returns once every core listens (or the first fails).
pub fn start(settings: &Settings, store: &Store, sink: &Arc<Sink>) -> std::io::Result<Service> {
    let endpoints = claim_all(&settings.endpoints)?;
    // Every core's sockets exist before any core runs, so the ports are held from here on.
    let mut bound = (0..settings.workers.max(1)).map(|_| bind_all(&endpoints)).collect::<std::io::Result<Vec<_>>>()?;
    let local_addr = endpoints.iter().find_map(|e| match e {
        Endpoint::SecureTcp(addr) => Some(*addr),
        _ => None,
    });
    let access = settings.syslog_access.clone();
    let status = StatusWriter::spawn(store.clone())?;
    let counters = Arc::new(SendCounter::default());
    let stats = Arc::new(Stats::default());
    let shared = SharedFiles::spawn(settings.shared_dir.clone(), settings.multigroups_dir.clone())?;
    let live = Arc::new(LiveAgents::new(settings.overtake));
    let commands =
        Arc::new(Commands::new(Arc::clone(&live), Arc::clone(&counters), Arc::clone(&stats), settings.disconnection));
    let (ready, reports) = mpsc::channel();
    let beats = Arc::new(Beats::new(settings.workers.max(1)));
    for worker in 0..settings.workers.max(1) {
        let beats = Arc::clone(&beats);
        let sockets = bound.pop().unwrap_or_default();
        let access = access.clone();
        let (store, status, sink) = (store.clone(), status.clone(), Arc::clone(sink));
        let (counters, stats, ready) = (Arc::clone(&counters), Arc::clone(&stats), ready.clone());
        let commands = Arc::clone(&commands);
        let (shared, live) = (Arc::clone(&shared), Arc::clone(&live));
        let driver = settings.driver;
        let (allow_higher_versions, frame_timeout) = (settings.allow_higher_versions, settings.frame_timeout);
        std::thread::Builder::new().name(format!("vigil-remote-{worker}")).spawn(move || {
            let runtime = match runtime(worker, driver) {
                Ok(runtime) => runtime,
                Err(e) => return drop(ready.send(Err(e))),
            };
            let keys = match KeyTable::load(&store) {
                Ok(keys) => keys,
                Err(e) => return drop(ready.send(Err(std::io::Error::other(e)))),
            };
            let core = Rc::new(Core {
                store,
                keys: RefCell::new(keys),
                status,
                sink,
                counters,
                stats,
                commands,
                allow_higher_versions,
                shared,
                live,
                frame_timeout,
                beats,
                worker,
            });
            let _ = ready.send(Ok(runtime.driver_type()));
            runtime.block_on(serve(sockets, core, access));
        })?;
    }
    let mut drivers = Vec::with_capacity(settings.workers);
    for _ in 0..settings.workers.max(1) {
        drivers.push(reports.recv().map_err(std::io::Error::other)??);
    }
    let driver = if drivers.iter().all(|d| d.is_iouring()) { "io_uring" } else { "epoll" };
    let _ = stats.driver.set(driver);
    for endpoint in &endpoints {
        match endpoint {
            Endpoint::SecureTcp(addr) => {
                info!(local_addr = %addr, workers = drivers.len(), driver, "Agent connection service listening")
            }
            Endpoint::SecureUdp(addr) => info!(local_addr = %addr, "Agent connection service listening on UDP"),
            Endpoint::SyslogTcp(addr) => info!(local_addr = %addr, "Remote syslog listening on TCP"),
            Endpoint::SyslogUdp(addr) => info!(local_addr = %addr, "Remote syslog listening on UDP"),
        }
    }
    Ok(Service { local_addr, endpoints, drivers, stats, commands, shared, beats })
}

/// A runtime pinned to core `worker` (modulo the cores there are) with the chosen driver.
fn runtime(worker: usize, driver: IoDriver) -> std::io::Result<compio::runtime::Runtime> {
    let mut proactor = ProactorBuilder::new();
    if driver == IoDriver::Poll {
        proactor.driver_type(DriverType::Poll);
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    compio::runtime::RuntimeBuilder::new()
        .with_proactor(proactor)
        .thread_affinity(HashSet::from([worker % cores]))
        .build()
}

/// Serves this core's sockets; refreshes the core's key table now and then.
async fn serve(sockets: Vec<Bound>, core: Rc<Core>, access: Access) {
    let access = Rc::new(access);
    let mut agents = None;
    for socket in sockets {
        match socket {
            Bound::Tcp(Endpoint::SecureTcp(_), listener) => agents = Some(listener),
            Bound::Tcp(_, listener) => {
                compio::runtime::spawn(syslog::serve_tcp(listener, Rc::clone(&core), Rc::clone(&access))).detach();
            }
            Bound::Udp(Endpoint::SecureUdp(_), socket) => {
                core.stats.udp_sockets.add(&socket, "agents");
                compio::runtime::spawn(udp::serve(socket, Rc::clone(&core))).detach();
            }
            Bound::Udp(_, socket) => {
                core.stats.udp_sockets.add(&socket, "syslog");
                compio::runtime::spawn(syslog::serve_udp(socket, Rc::clone(&core), Rc::clone(&access))).detach();
            }
        }
    }
    let refresher = Rc::clone(&core);
    compio::runtime::spawn(async move {
        let mut seen = refresher.store.keys_generation();
        let mut last = std::time::Instant::now();
        loop {
            compio::time::sleep(KEYS_CHECK).await;
            refresher.beats.beat(refresher.worker);
            // Re-read when an agent was added, removed or re-keyed (by the API, enrollment or
            // another node), and every KEYS_REFRESH in any case.
            let generation = refresher.store.keys_generation();
            if generation == seen && last.elapsed() < KEYS_REFRESH {
                continue;
            }
            (seen, last) = (generation, std::time::Instant::now());
            match refresher.keys.borrow_mut().refresh(&refresher.store) {
                Ok(()) => refresher.stats.keys_reloads.inc(),
                Err(e) => warn!("cannot re-read the agents: {e}"),
            }
        }
    })
    .detach();
    let Some(listener) = agents else {
        // No TCP agents: the other tasks run for good.
        return std::future::pending().await;
    };
    let listener = match compio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => return error!("cannot listen for agents: {e}"),
    };
    loop {
        let (stream, peer) = accept(&listener, "Agent connection").await;
        compio::runtime::spawn(connection::serve(stream, peer, Rc::clone(&core))).detach();
    }
}

/// The next connection on `listener` (`what` names it in the log). A failed accept (out of
/// descriptors or memory) is logged and retried after a pause instead of spinning.
pub(super) async fn accept(listener: &compio::net::TcpListener, what: &str) -> (compio::net::TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(e) => {
                warn!("{what} accept failed: {e}");
                compio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_another_server_holds_is_refused() -> std::io::Result<()> {
        let held = reuseport_listener(claim("127.0.0.1:0".parse().map_err(std::io::Error::other)?)?)?;
        let addr = held.local_addr()?;
        assert_eq!(claim(addr).err().map(|e| e.kind()), Some(std::io::ErrorKind::AddrInUse));
        // The same process adds its other cores' listeners.
        assert!(reuseport_listener(addr).is_ok());
        let udp = reuseport_udp(claim_udp("127.0.0.1:0".parse().map_err(std::io::Error::other)?)?)?;
        let addr = udp.local_addr()?;
        assert_eq!(claim_udp(addr).err().map(|e| e.kind()), Some(std::io::ErrorKind::AddrInUse));
        assert!(reuseport_udp(addr).is_ok());
        Ok(())
    }

    fn listener(connection: Connection, port: u16, tcp: bool, udp: bool) -> crate::config::Listener {
        crate::config::Listener { connection, port, tcp, udp, ipv6: false, local_ip: None }
    }

    #[test]
    fn the_remote_blocks_become_endpoints() {
        let mut config = crate::config::Config::default();
        config.remote.listeners.clear();
        assert!(Settings::from_config(&config, std::path::Path::new("/h")).is_none());
        config.remote.listeners.push(listener(Connection::Secure, 1514, true, true));
        config.remote.listeners.push(listener(Connection::Syslog, 514, true, true));
        config.remote.workers = 3;
        let any = |port| SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port);
        // No allowed source: the syslog listener is left out, as remoted leaves it.
        let settings = Settings::from_config(&config, std::path::Path::new("/h"));
        assert_eq!(
            settings.as_ref().map(|s| (s.endpoints.clone(), s.workers)),
            Some((vec![Endpoint::SecureTcp(any(1514)), Endpoint::SecureUdp(any(1514))], 3))
        );
        config.remote.allowed_ips = vec!["10.0.0.0/8".into()];
        let endpoints = Settings::from_config(&config, std::path::Path::new("/h")).map(|s| s.endpoints);
        assert_eq!(
            endpoints,
            Some(vec![
                Endpoint::SecureTcp(any(1514)),
                Endpoint::SecureUdp(any(1514)),
                Endpoint::SyslogTcp(any(514)),
                Endpoint::SyslogUdp(any(514))
            ])
        );
    }
}
