//! One agent connection on a data-plane core: frames in, each decrypted, classified and acted
//! on to completion (acks, status, events through the engine), replies out. Any frame that
//! fails closes the connection under a counted reason.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd as _, RawFd};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use compio::BufResult;
use compio::io::{AsyncRead as _, AsyncWriteExt as _};
use compio::net::TcpStream;
use tracing::debug;

use super::control::Payload;
use super::core::{Close, Core};
use super::handle::{Output, act, receive};
use super::live::{LiveAgents, Mailbox, Outgoing, Route, Seat};
use crate::secmsg::Framer;

/// Time an agent may stay silent between frames (keepalives come every 20 s).
pub const IDLE_TIME: Duration = Duration::from_secs(900);

/// Messages a connection's writer may have queued; a full queue holds the connection's reads
/// (its own replies) or refuses other threads' messages.
const OUTBOX: usize = 64;

/// A connection's first read buffer.
const READ_START: usize = 2048;
/// The largest read buffer a busy connection grows to.
const READ_MAX: usize = 64 * 1024;

/// The agent a connection belongs to, once its first frame is read. Dropping it frees the
/// agent's seat; it is dropped before the socket closes, so no other core shuts down the
/// descriptor after it is reused.
struct Session {
    /// This connection's number.
    conn: u64,
    /// The connection's socket, for the seat.
    socket: RawFd,
    live: Arc<LiveAgents>,
    /// The agent's seat (with its key entry), from the first frame on.
    held: Option<Arc<Seat>>,
    /// The connection's writer queue.
    outbox: flume::Sender<Outgoing>,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(seat) = &self.held {
            self.live.leave(seat.mailbox.entry.agent.id, self.conn);
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
        // A read that is always ready (an agent flooding) must not keep the core: the core's
        // other connections run before this one reads again.
        yield_now().await;
    }
}

/// Returns after every other task the core has ready has run once.
async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await;
}

/// Acts on one frame of this connection: replies and events go to `out`.
fn handle(frame: &[u8], ip: IpAddr, session: &mut Session, core: &Core, out: &mut Output) -> Result<(), Close> {
    let received = receive(frame, ip, core)?;
    let entry = &received.entry;
    if let Some(seat) = &session.held
        && seat.mailbox.entry.agent.id != entry.agent.id
    {
        let bound = seat.mailbox.entry.agent.id;
        return Err(("agent_changed", format!("agent {} sent on agent {bound}'s connection", entry.agent.id)));
    }
    let payload = received.classify()?;
    match &session.held {
        Some(seat) => core.live.heard(seat, received.cipher),
        None => {
            let startup = matches!(payload, Payload::Startup { .. });
            let mailbox = Mailbox::new(Arc::clone(entry), received.cipher, Route::Tcp(session.outbox.clone()));
            let seat = core
                .live
                .take(entry.agent.id, session.conn, Some(session.socket), startup, mailbox)
                .map_err(|e| ("key_in_use", e.to_string()))?;
            session.held = Some(seat);
        }
    }
    act(&received, payload, ip, core, out)
}
