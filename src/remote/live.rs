//! One live connection per agent (protocol.md §2.3 and §9). A connection that opens with a
//! start-up takes the agent over at once (an agent reconnecting, after `force_reconnect`
//! perhaps, before the old socket's end was seen); any other message finds the seat taken while
//! the holder was heard from within `<connection_overtake_time>`, and is refused.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::info;

use super::keys::KeyEntry;
use crate::secmsg::Cipher;
use crate::store::AgentId;

/// What a connection's writer is handed: a framed, encrypted message, or the end.
#[derive(Debug)]
pub enum Outgoing {
    /// Bytes to write as they are.
    Frame(Vec<u8>),
    /// The connection is over: the writer stops.
    Close,
}

/// How messages reach an agent.
#[derive(Debug)]
pub enum Route {
    /// Its TCP connection's writer queue, for framed messages.
    Tcp(flume::Sender<Outgoing>),
    /// A core's UDP socket, to the address the agent last sent from.
    Udp {
        /// The core's datagram queue.
        socket: flume::Sender<(SocketAddr, Vec<u8>)>,
        /// The agent's address.
        peer: Mutex<SocketAddr>,
    },
}

/// Why a message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undelivered {
    /// The queue is full.
    Full,
    /// The connection (or core) is gone.
    Closed,
}

/// Where other threads leave messages for a connected agent: its keys, the cipher it last
/// used (replies must use it), and the route to it.
#[derive(Debug)]
pub struct Mailbox {
    /// The agent's key entry.
    pub entry: Arc<KeyEntry>,
    aes: AtomicBool,
    /// How messages reach the agent (bounded queues: a full one refuses, never blocks).
    pub route: Route,
}

impl Mailbox {
    /// A mailbox for an agent that just used `cipher`.
    pub fn new(entry: Arc<KeyEntry>, cipher: Cipher, route: Route) -> Self {
        Self { entry, aes: AtomicBool::new(cipher == Cipher::Aes), route }
    }

    /// Queues a framed message (TCP framing; a datagram carries what follows the length).
    pub fn deliver(&self, frame: Vec<u8>) -> Result<(), Undelivered> {
        fn refused<T>(e: flume::TrySendError<T>) -> Undelivered {
            match e {
                flume::TrySendError::Full(_) => Undelivered::Full,
                flume::TrySendError::Disconnected(_) => Undelivered::Closed,
            }
        }
        match &self.route {
            Route::Tcp(outbox) => outbox.try_send(Outgoing::Frame(frame)).map_err(refused),
            Route::Udp { socket, peer } => {
                let peer = *crate::sync::lock(peer);
                let datagram = crate::secmsg::unframe(&frame).to_vec();
                socket.try_send((peer, datagram)).map_err(refused)
            }
        }
    }

    /// Whether the agent speaks UDP (requests then wait for acks and are retried).
    pub fn is_udp(&self) -> bool {
        matches!(self.route, Route::Udp { .. })
    }

    /// The cipher the agent last used.
    pub fn cipher(&self) -> Cipher {
        if self.aes.load(Ordering::Relaxed) { Cipher::Aes } else { Cipher::Blowfish }
    }

    /// Notes the cipher of the agent's latest message.
    pub fn used(&self, cipher: Cipher) {
        self.aes.store(cipher == Cipher::Aes, Ordering::Relaxed);
    }
}

/// A connection's hold on its agent.
#[derive(Debug)]
pub struct Seat {
    conn: u64,
    /// Milliseconds since the registry's start when the holder last sent something.
    heard: AtomicU64,
    /// The connection's socket, to shut it down from another core (none for UDP). Open while
    /// the seat is in the registry: its connection leaves before closing it.
    socket: Option<RawFd>,
    /// How to reach the agent through this connection.
    pub mailbox: Mailbox,
    /// When the connection took the seat, Unix milliseconds.
    since: i64,
}

impl Seat {
    /// The connection holding the seat.
    pub fn conn(&self) -> u64 {
        self.conn
    }

    /// When the connection took the seat, Unix milliseconds.
    pub fn since(&self) -> i64 {
        self.since
    }

    /// Time since the holder last sent something.
    pub fn silent(&self, live: &LiveAgents) -> Duration {
        Duration::from_millis(live.now().saturating_sub(self.heard.load(Ordering::Relaxed)))
    }
}

/// Someone else holds the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Agent key already in use: agent ID '{0}'")]
pub struct InUse(pub AgentId);

/// Which connection holds each agent.
#[derive(Debug)]
pub struct LiveAgents {
    seats: Mutex<HashMap<AgentId, Arc<Seat>>>,
    start: Instant,
    overtake: Duration,
    next_conn: AtomicU64,
}

impl LiveAgents {
    /// An empty registry; a holder silent for `overtake` may be replaced by anyone.
    pub fn new(overtake: Duration) -> Self {
        Self { seats: Default::default(), start: Instant::now(), overtake, next_conn: AtomicU64::new(1) }
    }

    /// A number for a new connection.
    pub fn connection(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Seats connection `conn` (socket `socket`) on `agent`. A start-up, or a holder silent
    /// past the overtake time, displaces the holder, whose socket is shut down. The caller must
    /// [`leave`](Self::leave) before closing `socket`.
    pub fn take(
        &self,
        agent: AgentId,
        conn: u64,
        socket: Option<RawFd>,
        startup: bool,
        mailbox: Mailbox,
    ) -> Result<Arc<Seat>, InUse> {
        let now = self.now();
        let mut seats = crate::sync::lock(&self.seats);
        if let Some(holder) = seats.get(&agent)
            && holder.conn != conn
        {
            if !startup && holder.silent(self) < self.overtake {
                return Err(InUse(agent));
            }
            info!(agent = %agent, "Agent reconnected: the new connection takes over from the old one");
            // The old connection's read ends at once; it then leaves, finding its seat gone.
            if let Some(fd) = holder.socket {
                #[allow(unsafe_code)]
                // SAFETY: a connection removes its seat, under this lock, before it closes its
                // socket (connection::Session's drop), and the lock is held here: the descriptor
                // is open and is still the holder's socket.
                let holder_socket = unsafe { BorrowedFd::borrow_raw(fd) };
                let _ = socket2::SockRef::from(&holder_socket).shutdown(std::net::Shutdown::Both);
            }
        }
        let since = crate::server::now_ms();
        let seat = Arc::new(Seat { conn, heard: AtomicU64::new(now), socket, mailbox, since });
        seats.insert(agent, Arc::clone(&seat));
        Ok(seat)
    }

    /// Notes that the holder of `seat` was heard from, in `cipher` (replies use it).
    pub fn heard(&self, seat: &Seat, cipher: Cipher) {
        seat.heard.store(self.now(), Ordering::Relaxed);
        seat.mailbox.used(cipher);
    }

    /// Frees `agent`'s seat if connection `conn` still holds it. Must be called before the
    /// connection's socket closes, so no other core shuts down a reused descriptor.
    pub fn leave(&self, agent: AgentId, conn: u64) {
        let mut seats = crate::sync::lock(&self.seats);
        if seats.get(&agent).is_some_and(|s| s.conn == conn) {
            seats.remove(&agent);
        }
    }

    /// The seat of `agent`, when a connection holds it.
    pub fn seat(&self, agent: AgentId) -> Option<Arc<Seat>> {
        crate::sync::lock(&self.seats).get(&agent).cloned()
    }

    /// Every seated agent and its seat.
    pub fn seats(&self) -> Vec<(AgentId, Arc<Seat>)> {
        crate::sync::lock(&self.seats).iter().map(|(id, seat)| (*id, Arc::clone(seat))).collect()
    }

    /// Agents with a live connection.
    pub fn len(&self) -> usize {
        crate::sync::lock(&self.seats).len()
    }

    /// Whether no agent is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::os::fd::AsRawFd as _;

    use super::*;

    fn pair() -> std::io::Result<(std::net::TcpStream, std::net::TcpStream)> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let client = std::net::TcpStream::connect(listener.local_addr()?)?;
        Ok((client, listener.accept()?.0))
    }

    #[test]
    fn startups_take_over_and_others_wait_for_the_overtake_time() -> std::io::Result<()> {
        let live = LiveAgents::new(Duration::from_secs(60));
        let id = AgentId::new(1).ok_or(std::io::ErrorKind::InvalidInput)?;
        let (mut old_client, old_server) = pair()?;
        let (_, new_server) = pair()?;
        let (old, new) = (live.connection(), live.connection());
        let key = "k".repeat(64).parse().map_err(std::io::Error::other)?;
        let agent = crate::store::Agent::new(
            id,
            "web".parse().map_err(std::io::Error::other)?,
            crate::store::AgentIp::any(),
            key,
            0,
        );
        let entry = Arc::new(KeyEntry::new(agent));
        let (outbox, mail) = flume::bounded(1);
        let mailbox = || Mailbox::new(Arc::clone(&entry), Cipher::Aes, Route::Tcp(outbox.clone()));
        assert!(live.take(id, old, Some(old_server.as_raw_fd()), true, mailbox()).is_ok());
        assert_eq!(live.take(id, new, Some(new_server.as_raw_fd()), false, mailbox()).err(), Some(InUse(id)));
        assert!(live.take(id, new, Some(new_server.as_raw_fd()), true, mailbox()).is_ok());
        // The holder's mailbox reaches its connection's outbox.
        let seat = live.seat(id).ok_or(std::io::ErrorKind::NotFound)?;
        seat.mailbox.used(Cipher::Blowfish);
        assert_eq!(seat.mailbox.cipher(), Cipher::Blowfish);
        assert_eq!(seat.mailbox.deliver(b"abcdframe".to_vec()), Ok(()));
        assert!(matches!(mail.try_recv(), Ok(Outgoing::Frame(f)) if f == b"abcdframe"));
        // A UDP agent's datagram is the frame without its length.
        let (socket, datagrams) = flume::bounded(1);
        let peer: SocketAddr = "127.0.0.1:9".parse().map_err(std::io::Error::other)?;
        let udp = Mailbox::new(Arc::clone(&entry), Cipher::Aes, Route::Udp { socket, peer: Mutex::new(peer) });
        assert!(udp.is_udp());
        assert_eq!(udp.deliver(b"abcdframe".to_vec()), Ok(()));
        assert_eq!(udp.deliver(b"abcdframe".to_vec()), Err(Undelivered::Full));
        assert_eq!(datagrams.try_recv().ok(), Some((peer, b"frame".to_vec())));
        // The old server side was shut down: its peer reads the end.
        old_client.set_read_timeout(Some(Duration::from_secs(5)))?;
        assert_eq!(old_client.read(&mut [0u8; 8])?, 0);
        live.leave(id, old);
        assert_eq!(live.len(), 1, "the old connection leaving frees nothing");
        live.leave(id, new);
        assert!(live.is_empty());
        Ok(())
    }
}
