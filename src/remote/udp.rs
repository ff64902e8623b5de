//! Agents over UDP (`<remote><protocol>udp</protocol>`, protocol.md §2.1): one datagram is one
//! wire message, no length. A datagram that fails is dropped and counted (there is no
//! connection to close); replies and other threads' messages go to the address the agent last
//! sent from, through this core's socket.

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use compio::BufResult;
use compio::net::UdpSocket;
use tracing::{debug, warn};

use super::core::{Close, Core};
use super::handle::{Output, act, receive};
use super::live::{Mailbox, Route};
use crate::secmsg::{self, MAX_FRAME};

/// Datagrams waiting to be sent by one core.
const QUEUE: usize = 4096;

/// remoted pauses a file push over UDP after this many chunks...
const PUSH_BURST: usize = 30;
/// ...for this long, so the agent's socket buffer keeps up.
const PUSH_PAUSE: Duration = Duration::from_secs(1);

/// The unencrypted probe and its answer.
const PING: &[u8] = b"#ping";
const PONG: &[u8] = b"#pong";

/// Serves agents' datagrams on this core's socket.
pub async fn serve(socket: std::net::UdpSocket, core: Rc<Core>) {
    let socket = match UdpSocket::from_std(socket) {
        Ok(socket) => Rc::new(socket),
        Err(e) => return warn!("cannot listen for agents over UDP: {e}"),
    };
    let (outbox, queued) = flume::bounded(QUEUE);
    compio::runtime::spawn(send(Rc::clone(&socket), queued, Rc::clone(&core))).detach();
    // This core's UDP agents hold their seats under one connection number.
    let conn = core.live.connection();
    let mut buf = Vec::with_capacity(MAX_FRAME + 1);
    loop {
        buf.clear();
        let BufResult(received, returned) = socket.recv_from(buf).await;
        buf = returned;
        let (len, peer) = match received {
            Ok(received) => received,
            Err(e) => {
                debug!("agent datagram receive failed: {e}");
                continue;
            }
        };
        core.stats.recv_bytes.add(len as u64);
        if buf.starts_with(PING) {
            core.stats.received.ping.inc();
            let _ = outbox.try_send((peer, PONG.to_vec()));
            continue;
        }
        let mut out = Output::default();
        if let Err((reason, detail)) = handle(&buf, peer, conn, &core, &outbox, &mut out) {
            core.stats.refuse(reason, peer.ip(), &detail);
            continue;
        }
        if !out.events.is_empty() {
            core.sink.handle_all(&out.events);
        }
        // Datagrams carry what follows the TCP length.
        let replies: Vec<Vec<u8>> = out.replies.iter().map(|r| secmsg::unframe(r).to_vec()).collect();
        if replies.len() > PUSH_BURST {
            compio::runtime::spawn(paced(outbox.clone(), peer, replies)).detach();
        } else {
            for reply in replies {
                if outbox.try_send((peer, reply)).is_err() {
                    core.stats.sent.discarded.inc();
                }
            }
        }
    }
}

/// Acts on one datagram from `peer`: the agent's seat follows its address.
fn handle(
    datagram: &[u8],
    peer: SocketAddr,
    conn: u64,
    core: &Core,
    outbox: &flume::Sender<(SocketAddr, Vec<u8>)>,
    out: &mut Output,
) -> Result<(), Close> {
    if datagram.len() > MAX_FRAME {
        return Err(("frame_too_large", format!("datagram of {} bytes", datagram.len())));
    }
    let received = receive(datagram, peer.ip(), core)?;
    let entry = &received.entry;
    let payload = received.classify()?;
    match core.live.seat(entry.agent.id) {
        Some(seat) if seat.conn() == conn => {
            core.live.heard(&seat, received.cipher);
            if let Route::Udp { peer: last, .. } = &seat.mailbox.route {
                *crate::sync::lock(last) = peer;
            }
        }
        _ => {
            // UDP has no connection to protect: the latest sender holds the agent.
            let route = Route::Udp { socket: outbox.clone(), peer: Mutex::new(peer) };
            let mailbox = Mailbox::new(Arc::clone(entry), received.cipher, route);
            core.live.take(entry.agent.id, conn, None, true, mailbox).map_err(|e| ("key_in_use", e.to_string()))?;
        }
    }
    act(&received, payload, peer.ip(), core, out)
}

/// Sends a file push, pausing after every [`PUSH_BURST`] chunks.
async fn paced(outbox: flume::Sender<(SocketAddr, Vec<u8>)>, peer: SocketAddr, datagrams: Vec<Vec<u8>>) {
    for (n, datagram) in datagrams.into_iter().enumerate() {
        if n > 0 && n % PUSH_BURST == 0 {
            compio::time::sleep(PUSH_PAUSE).await;
        }
        if outbox.send_async((peer, datagram)).await.is_err() {
            return;
        }
    }
}

/// Sends this core's queued datagrams.
async fn send(socket: Rc<UdpSocket>, queued: flume::Receiver<(SocketAddr, Vec<u8>)>, core: Rc<Core>) {
    while let Ok((peer, datagram)) = queued.recv_async().await {
        let len = datagram.len() as u64;
        match socket.send_to(datagram, peer).await {
            BufResult(Ok(_), _) => core.stats.sent_bytes.add(len),
            BufResult(Err(e), _) => {
                core.stats.sent.discarded.inc();
                debug!(%peer, "agent datagram send failed: {e}");
            }
        }
    }
}
