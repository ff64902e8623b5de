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

use super::commands::Commands;
use super::connection::{self, Core, SendCounter};
use super::keys::KeyTable;
use super::live::LiveAgents;
use super::shared::SharedFiles;
use super::stats::Stats;
use super::status::StatusWriter;
use crate::config::{Connection, IoDriver};
use crate::server::queue::Sink;
use crate::store::Store;

/// How often each core re-reads the agents (removed agents, replaced keys).
const KEYS_REFRESH: Duration = Duration::from_secs(10);

/// Where and how the data plane runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address and port of the secure TCP listener.
    pub addr: SocketAddr,
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
    /// The secure TCP listener of `<remote>`, if there is one, for the home at `root`.
    pub fn from_config(config: &crate::config::Config, root: &std::path::Path) -> Option<Self> {
        let remote = &config.remote;
        let listener = remote.listeners.iter().find(|l| l.connection == Connection::Secure && l.tcp)?;
        let any: IpAddr = if listener.ipv6 { Ipv6Addr::UNSPECIFIED.into() } else { Ipv4Addr::UNSPECIFIED.into() };
        let workers = match remote.workers {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        Some(Self {
            addr: SocketAddr::new(listener.local_ip.unwrap_or(any), listener.port),
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
    /// Where it listens.
    pub local_addr: SocketAddr,
    /// The driver each core runs.
    pub drivers: Vec<DriverType>,
    /// The counters.
    pub stats: Arc<Stats>,
    /// Sends to connected agents.
    pub commands: Arc<Commands>,
}

/// A listening socket with `SO_REUSEPORT`, so every core has one on the same port.
fn reuseport_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let domain = if addr.is_ipv4() { socket2::Domain::IPV4 } else { socket2::Domain::IPV6 };
    let socket = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    Ok(socket.into())
}

/// Claims the port the way a plain listener would, so a second server on the same port fails
/// as Wazuh's would, instead of sharing it through `SO_REUSEPORT`. Returns the port's address.
fn claim(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let probe = std::net::TcpListener::bind(addr)?;
    probe.local_addr()
}

/// Starts one thread per worker; returns once every core listens (or the first fails).
pub fn start(settings: &Settings, store: &Store, sink: &Arc<Sink>) -> std::io::Result<Service> {
    let first = reuseport_listener(claim(settings.addr)?)?;
    let local_addr = first.local_addr()?;
    let status = StatusWriter::spawn(store.clone())?;
    let counters = Arc::new(SendCounter::default());
    let stats = Arc::new(Stats::default());
    let shared = SharedFiles::spawn(settings.shared_dir.clone(), settings.multigroups_dir.clone())?;
    let live = Arc::new(LiveAgents::new(settings.overtake));
    let commands =
        Arc::new(Commands::new(Arc::clone(&live), Arc::clone(&counters), Arc::clone(&stats), settings.disconnection));
    let (ready, reports) = mpsc::channel();
    for worker in 0..settings.workers.max(1) {
        let listener = if worker == 0 { first.try_clone()? } else { reuseport_listener(local_addr)? };
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
            });
            let _ = ready.send(Ok(runtime.driver_type()));
            runtime.block_on(serve(listener, core));
        })?;
    }
    drop(first);
    let mut drivers = Vec::with_capacity(settings.workers);
    for _ in 0..settings.workers.max(1) {
        drivers.push(reports.recv().map_err(std::io::Error::other)??);
    }
    let driver = if drivers.iter().all(|d| d.is_iouring()) { "io_uring" } else { "epoll" };
    info!(%local_addr, workers = drivers.len(), driver, "Agent connection service listening");
    Ok(Service { local_addr, drivers, stats, commands })
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

/// Accepts on this core's listener; refreshes the core's key table now and then.
async fn serve(listener: std::net::TcpListener, core: Rc<Core>) {
    let listener = match compio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => return error!("cannot listen for agents: {e}"),
    };
    let refresher = Rc::clone(&core);
    compio::runtime::spawn(async move {
        loop {
            compio::time::sleep(KEYS_REFRESH).await;
            match refresher.keys.borrow_mut().refresh(&refresher.store) {
                Ok(()) => refresher.stats.keys_reloads.inc(),
                Err(e) => warn!("cannot re-read the agents: {e}"),
            }
        }
    })
    .detach();
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => compio::runtime::spawn(connection::serve(stream, peer, Rc::clone(&core))).detach(),
            Err(e) => {
                // Out of descriptors or memory: wait instead of spinning.
                warn!("Agent connection accept failed: {e}");
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
        Ok(())
    }

    #[test]
    fn the_secure_tcp_listener_is_served() {
        let mut config = crate::config::Config::default();
        assert!(Settings::from_config(&config, std::path::Path::new("/h")).is_none());
        config.remote.listeners.push(crate::config::Listener {
            connection: Connection::Secure,
            port: 1514,
            tcp: true,
            udp: false,
            ipv6: false,
            local_ip: None,
        });
        config.remote.workers = 3;
        let settings = Settings::from_config(&config, std::path::Path::new("/h"));
        assert_eq!(settings.as_ref().map(|s| (s.addr.port(), s.workers)), Some((1514, 3)));
    }
}
