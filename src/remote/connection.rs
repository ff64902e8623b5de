//! One agent connection on a data-plane core: frames in, each decrypted, classified and acted
//! on to completion (acks, status, events through the engine), replies out. Any frame that
//! fails closes the connection under a counted reason.

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd as _, RawFd};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use compio::BufResult;
use compio::io::{AsyncRead as _, AsyncWriteExt as _};
use compio::net::TcpStream;
use tracing::{debug, info};

use super::commands::Commands;
use super::control::{Payload, classify};
use super::keys::{KeyEntry, KeyTable};
use super::live::{LiveAgents, Mailbox, Outgoing, Seat};
use super::stats::Stats;
use super::status::{StatusWriter, Update};
use super::{event, keepalive};
use crate::secmsg::{self, Cipher, Counters, Framer};
use crate::server::queue::Sink;
use crate::store::Store;

/// Time an agent may stay silent between frames (keepalives come every 20 s).
pub const IDLE_TIME: Duration = Duration::from_secs(900);

/// Messages a connection's writer may have queued; a full queue holds the connection's reads
/// (its own replies) or refuses other threads' messages.
const OUTBOX: usize = 64;

/// A connection's first read buffer.
const READ_START: usize = 2048;
/// The largest read buffer a busy connection grows to.
const READ_MAX: usize = 64 * 1024;

/// What the manager answers a start-up and every keepalive with.
pub const ACK: &[u8] = b"#!-agent ack ";

/// The manager's send counters, one pair for all agents (protocol.md §2.8).
#[derive(Debug, Default)]
pub struct SendCounter(AtomicU64);

impl SendCounter {
    /// The pair for the next message: local runs 1..=9997, then the global moves on.
    pub fn next(&self) -> Counters {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        Counters { global: n / 9997, local: (n % 9997) as u32 + 1 }
    }
}

/// What every connection on one core shares.
pub struct Core {
    /// The agent store.
    pub store: Store,
    /// This core's copy of the key table.
    pub keys: RefCell<KeyTable>,
    /// Where status changes go.
    pub status: StatusWriter,
    /// The engine and the alert files.
    pub sink: Arc<Sink>,
    /// The manager's send counters.
    pub counters: Arc<SendCounter>,
    /// The service's counters.
    pub stats: Arc<Stats>,
    /// Requests waiting for agents' answers.
    pub commands: Arc<Commands>,
    /// Accept agents newer than the manager.
    pub allow_higher_versions: bool,
    /// Groups' merged.mg files.
    pub shared: Arc<super::shared::SharedFiles>,
    /// Which connection holds each agent.
    pub live: Arc<LiveAgents>,
    /// Time to send a first frame, or to finish a frame begun.
    pub frame_timeout: Duration,
}

/// Why a connection is closed.
type Close = (&'static str, String);

/// The agent a connection belongs to, once its first frame is read. Dropping it frees the
/// agent's seat; it is dropped before the socket closes, so no other core shuts down the
/// descriptor after it is reused.
struct Session {
    /// This connection's number.
    conn: u64,
    /// The connection's socket, for the seat.
    socket: RawFd,
    live: Arc<LiveAgents>,
    /// The agent and its seat, from the first frame on.
    held: Option<(Arc<KeyEntry>, Arc<Seat>)>,
    /// The connection's writer queue.
    outbox: flume::Sender<Outgoing>,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some((entry, _)) = &self.held {
            self.live.leave(entry.agent.id, self.conn);
        }
    }
}

/// Serves one connection until it closes: a reader handles frames, a writer sends what the
/// reader and other threads leave in the connection's outbox, in order.
pub async fn serve(stream: TcpStream, peer: SocketAddr, core: Rc<Core>) {
    let _ = stream.set_nodelay(true);
    core.stats.tcp_sessions.inc();
    let (outbox, queued) = flume::bounded(OUTBOX);
    // A local, so dropped before the `stream` argument however this future ends.
    let mut session = Session {
        conn: core.live.connection(),
        socket: stream.as_raw_fd(),
        live: Arc::clone(&core.live),
        held: None,
        outbox,
    };
    let reading = async {
        serve_frames(&stream, peer, &core, &mut session).await;
        // A writer stuck on a peer that does not read fails now; an idle one reads the end.
        let _ = socket2::SockRef::from(&stream).shutdown(std::net::Shutdown::Both);
        let _ = session.outbox.send_async(Outgoing::Close).await;
    };
    futures_util::future::join(reading, write(&stream, queued, &core)).await;
    core.stats.tcp_sessions.dec();
}

/// Writes the outbox's frames until the connection closes.
async fn write(stream: &TcpStream, queued: flume::Receiver<Outgoing>, core: &Core) {
    let mut writer = stream;
    while let Ok(Outgoing::Frame(frame)) = queued.recv_async().await {
        let len = frame.len() as u64;
        if let BufResult(Err(e), _) = writer.write_all(frame).await {
            return debug!("agent connection write failed: {e}");
        }
        core.stats.sent_bytes.add(len);
    }
}

async fn serve_frames(stream: &TcpStream, peer: SocketAddr, core: &Core, session: &mut Session) {
    let mut stream = stream;
    let ip = peer.ip();
    let mut framer = Framer::default();
    // Idle agents (most of them) keep a small buffer; one that fills it gets a bigger one.
    let mut buf = Vec::with_capacity(READ_START);
    loop {
        if buf.len() == buf.capacity() && buf.capacity() < READ_MAX {
            buf = Vec::with_capacity(buf.capacity() * 2);
        }
        buf.clear();
        // A connection owes its first frame, or the rest of a frame it began, within the frame
        // timeout (slow-loris); between frames an agent may stay quiet for IDLE_TIME.
        let limit = if session.held.is_none() || framer.buffered() > 0 { core.frame_timeout } else { IDLE_TIME };
        let Ok(BufResult(read, returned)) = compio::time::timeout(limit, stream.read(buf)).await else {
            let detail = format!("no complete frame within {} s", limit.as_secs());
            return core.stats.refuse("timeout", ip, &detail);
        };
        buf = returned;
        match read {
            Ok(0) => return,
            Ok(n) => {
                core.stats.recv_bytes.add(n as u64);
                framer.push(&buf[..n]);
            }
            Err(e) => return debug!(%peer, "agent connection read failed: {e}"),
        }
        let mut out = Output::default();
        loop {
            let frame = match framer.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => return core.stats.refuse(e.reason(), ip, &e.to_string()),
            };
            if let Err((reason, detail)) = handle(frame, ip, session, core, &mut out) {
                return core.stats.refuse(reason, ip, &detail);
            }
        }
        // Everything this read brought is analysed and written in one go.
        if !out.events.is_empty() {
            core.sink.handle_all(&out.events);
        }
        for reply in out.replies {
            // Waits while the writer is behind: an agent that does not read stops being read.
            if session.outbox.send_async(Outgoing::Frame(reply)).await.is_err() {
                return;
            }
        }
    }
}

/// What the frames of one read produce.
#[derive(Default)]
struct Output {
    /// Framed, encrypted messages for the agent, in order.
    replies: Vec<Vec<u8>>,
    /// Messages for the engine.
    events: Vec<Vec<u8>>,
}

/// Acts on one frame: replies and events go to `out`.
fn handle(frame: &[u8], ip: IpAddr, session: &mut Session, core: &Core, out: &mut Output) -> Result<(), Close> {
    let wire = secmsg::split(frame).map_err(|e| (e.reason(), format!("(1403): {e}")))?;
    let entry = core
        .keys
        .borrow_mut()
        .identify(&core.store, wire.agent_id, ip)
        .map_err(|e| ("unknown_agent", e.to_string()))?;
    if let Some((bound, _)) = &session.held
        && bound.agent.id != entry.agent.id
    {
        return Err((
            "agent_changed",
            format!("agent {} sent on agent {}'s connection", entry.agent.id, bound.agent.id),
        ));
    }
    let opened = secmsg::open(&entry.keys, wire.cipher, wire.ciphertext)
        .map_err(|e| (e.reason(), format!("agent {}: {e}", entry.agent.id)))?;
    let agent = &entry.agent;
    let payload = classify(&opened.payload).map_err(|e| ("bad_control", format!("agent {}: {e}", agent.id)))?;
    match &session.held {
        Some((_, seat)) => {
            core.live.heard(seat);
            seat.mailbox.used(wire.cipher);
        }
        None => {
            let startup = matches!(payload, Payload::Startup { .. });
            let mailbox = Mailbox::new(Arc::clone(&entry), wire.cipher, session.outbox.clone());
            let seat = core
                .live
                .take(agent.id, session.conn, session.socket, startup, mailbox)
                .map_err(|e| ("key_in_use", e.to_string()))?;
            session.held = Some((Arc::clone(&entry), seat));
        }
    }
    let reply = match payload {
        Payload::Startup { version } => {
            if let Some(v) = &version
                && !core.allow_higher_versions
                && crate::enroll::request::newer_than_manager(v)
            {
                let refusal = br#"#!-err {"message":"Agent version must be lower or equal to manager version"}"#;
                out.replies.push(seal(core, &entry, wire.cipher, refusal)?);
                return Ok(());
            }
            core.stats.received.startup.inc();
            info!(agent = %agent.id, name = %agent.name, "Agent connected");
            core.status.send(Update::Started { id: agent.id, version, peer: ip });
            Some(ACK)
        }
        Payload::Keepalive(text) => {
            core.stats.received.keepalive.inc();
            let keepalive = Box::new(keepalive::parse(text));
            out.replies.push(seal(core, &entry, wire.cipher, ACK)?);
            core.stats.sent.ack.inc();
            // The agent's group (or multigroup) file, when the agent holds another one.
            let groups: Vec<&str> = agent.groups.iter().map(|g| g.as_str()).collect();
            if let Some(merged) = core.shared.for_agent(&groups)
                && keepalive.merged_sum.as_deref() != Some(merged.sum.as_str())
            {
                debug!(agent = %agent.id, "sending merged.mg");
                for message in merged.push_messages() {
                    out.replies.push(seal(core, &entry, wire.cipher, &message)?);
                    core.stats.sent.shared.inc();
                }
            }
            core.status.send(Update::Keepalive { id: agent.id, keepalive, peer: ip });
            None
        }
        Payload::Shutdown => {
            core.stats.received.shutdown.inc();
            core.status.send(Update::Stopped { id: agent.id });
            let stopped = format!("1:wazuh-remoted:ossec: Agent stopped: '{}->{}'.", agent.name, agent.ip);
            if let Ok(message) = event::forward(agent, stopped.as_bytes()) {
                out.events.push(message);
            }
            None
        }
        Payload::Response { counter, body } => {
            core.stats.received.request.inc();
            debug!(agent = %agent.id, counter, "request answered");
            core.commands.answer(counter, body);
            None
        }
        Payload::Event(payload) => {
            match event::forward(agent, payload) {
                Ok(message) => {
                    core.stats.received.event.inc();
                    out.events.push(message);
                }
                Err(e) => {
                    core.stats.received.discarded.inc();
                    debug!(agent = %agent.id, "event dropped: {e}");
                }
            }
            None
        }
    };
    if let Some(payload) = reply {
        out.replies.push(seal(core, &entry, wire.cipher, payload)?);
        core.stats.sent.ack.inc();
    }
    Ok(())
}

/// A reply to the agent in the cipher it used, framed.
fn seal(core: &Core, entry: &KeyEntry, cipher: Cipher, payload: &[u8]) -> Result<Vec<u8>, Close> {
    let random = (getrandom::u32().unwrap_or(0) % 65536) as u16;
    secmsg::seal_frame(&entry.keys, cipher, core.counters.next(), random, payload, None)
        .map_err(|e| (e.reason(), e.to_string()))
}
