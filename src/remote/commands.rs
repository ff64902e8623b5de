//! Manager → agent messages from any thread (protocol.md §3.6 and §5.1): a message is sealed
//! for the agent's keys and the cipher it last used, and left in its connection's outbox, which
//! that connection's core writes. Requests (`#!-req <counter> …`) wait for the agent's answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use tracing::{debug, warn};

use super::core::SendCounter;
use super::live::{LiveAgents, Seat, Undelivered};
use super::stats::Stats;
use crate::store::AgentId;

/// Time an agent has to answer a request (remoted's `response_timeout`).
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);
/// Time a UDP agent has to ack a request before it is sent again (remoted's `request_rto`).
pub const REQUEST_RTO: Duration = Duration::from_secs(1);
/// Sends of a request over UDP, and acks waited for (remoted's `max_attempts`).
pub const MAX_ATTEMPTS: usize = 4;

/// Why a message could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// No connection holds the agent.
    #[error("agent {0} is not connected")]
    NotConnected(AgentId),
    /// The agent has been silent past the disconnection time: remoted sends it nothing.
    #[error("agent {0} has been silent too long")]
    Silent(AgentId),
    /// The connection's outbox is full (the agent does not read).
    #[error("agent {0}'s connection is not keeping up")]
    Busy(AgentId),
    /// The message could not be sealed (too long).
    #[error("cannot seal the message for agent {0}: {1}")]
    Seal(AgentId, String),
    /// Another node holds the agent and could not pass the message on.
    #[error("agent {0} is connected to node {1}, which did not take the message: {2}")]
    Relay(AgentId, String, String),
}

/// What kind of message is sent, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    /// An active response (`#!-execd …`).
    ActiveResponse,
    /// A request (`#!-req …`).
    Request,
    /// Anything else (`#!-force_reconnect`, …).
    Control,
}

/// Reaches agents connected to other nodes of the cluster. Its calls block (up to their timeout):
/// only threads that may wait use them, never the data-plane cores.
pub trait Relay: Send + Sync + std::fmt::Debug {
    /// Sends `payload` to `agent` through the node holding its connection.
    fn send(&self, agent: AgentId, payload: &[u8], kind: Kind) -> Result<(), SendError>;
    /// [`Commands::request`] on the node holding `agent`'s connection.
    fn request(&self, agent: AgentId, command: &[u8], timeout: Duration) -> Result<Vec<u8>, SendError>;
    /// The agent's version, as the node holding it announced it.
    fn version(&self, agent: AgentId) -> Option<String>;
}

/// Requests waiting for their answer, by counter.
#[derive(Debug, Default)]
struct Pending(Mutex<HashMap<String, mpsc::SyncSender<Vec<u8>>>>);

/// Sends to connected agents; shared by every thread.
#[derive(Debug)]
pub struct Commands {
    live: Arc<LiveAgents>,
    counters: Arc<SendCounter>,
    stats: Arc<Stats>,
    /// Agents silent longer are not sent anything.
    disconnection: Duration,
    pending: Pending,
    next_request: AtomicU32,
    relay: std::sync::OnceLock<Arc<dyn Relay>>,
}

impl Commands {
    /// Commands through the connections `live` holds.
    pub fn new(live: Arc<LiveAgents>, counters: Arc<SendCounter>, stats: Arc<Stats>, disconnection: Duration) -> Self {
        // remoted starts its request counters at a random number, so a restart does not reuse them.
        let first = getrandom::u32().unwrap_or(0);
        Self {
            live,
            counters,
            stats,
            disconnection,
            pending: Pending::default(),
            next_request: AtomicU32::new(first),
            relay: std::sync::OnceLock::new(),
        }
    }

    /// Agents connected and heard from within the disconnection time: those an active
    /// response for every agent reaches.
    pub fn connected(&self) -> Vec<AgentId> {
        self.connected_since().into_iter().map(|(id, _)| id).collect()
    }

    /// [`Commands::connected`], with when each connection was made (Unix milliseconds).
    pub fn connected_since(&self) -> Vec<(AgentId, i64)> {
        let seats = self.live.seats();
        let heard = |seat: &Seat| seat.silent(&self.live) <= self.disconnection;
        seats.into_iter().filter(|(_, seat)| heard(seat)).map(|(id, seat)| (id, seat.since())).collect()
    }

    /// The version of an agent connected to another node, as that node announced it.
    pub fn version_elsewhere(&self, agent: AgentId) -> Option<String> {
        self.relay.get()?.version(agent)
    }

    /// Routes messages for agents connected elsewhere through `relay` (the cluster).
    pub fn set_relay(&self, relay: Arc<dyn Relay>) {
        let _ = self.relay.set(relay);
    }

    /// Whether `agent`'s connection is held here.
    pub fn holds(&self, agent: AgentId) -> bool {
        self.live.seat(agent).is_some()
    }

    /// [`Commands::send`], through the node holding the agent when it is not connected here.
    /// Blocks while another node is asked: not for the data-plane cores.
    pub fn send_anywhere(&self, agent: AgentId, payload: &[u8], kind: Kind) -> Result<(), SendError> {
        match (self.send(agent, payload, kind), self.relay.get()) {
            (Err(SendError::NotConnected(_)), Some(relay)) => relay.send(agent, payload, kind),
            (sent, _) => sent,
        }
    }

    /// Sends `payload` to `agent` through its connection here.
    pub fn send(&self, agent: AgentId, payload: &[u8], kind: Kind) -> Result<(), SendError> {
        let sent = self.try_send(agent, payload);
        match (&sent, kind) {
            (Err(e), _) => {
                self.stats.sent.discarded.inc();
                debug!(agent = %agent, "message not sent: {e}");
            }
            (Ok(()), Kind::ActiveResponse) => self.stats.sent.ar.inc(),
            (Ok(()), Kind::Request) => self.stats.sent.request.inc(),
            (Ok(()), Kind::Control) => {}
        }
        sent
    }

    fn try_send(&self, agent: AgentId, payload: &[u8]) -> Result<(), SendError> {
        let seat = self.live.seat(agent).ok_or(SendError::NotConnected(agent))?;
        if seat.silent(&self.live) > self.disconnection {
            return Err(SendError::Silent(agent));
        }
        let mailbox = &seat.mailbox;
        let frame = self
            .counters
            .seal(&mailbox.entry.keys, mailbox.cipher(), payload)
            .map_err(|e| SendError::Seal(agent, e.to_string()))?;
        mailbox.deliver(frame).map_err(|e| match e {
            Undelivered::Full => SendError::Busy(agent),
            Undelivered::Closed => SendError::NotConnected(agent),
        })
    }

    /// Sends `#!-req <counter> <command>` to `agent` and waits up to `timeout` for its answer;
    /// returns what remoted returns to the requester: the agent's answer, or `err …`.
    /// Over UDP, as remoted does: the request is sent again every [`REQUEST_RTO`] until the agent
    /// acks it or answers ([`MAX_ATTEMPTS`] times at most), and the answer is acked.
    /// An agent connected to another node is asked through it.
    pub fn request(&self, agent: AgentId, command: &[u8], timeout: Duration) -> Vec<u8> {
        if let Some(relay) = self.relay.get().filter(|_| !self.holds(agent)) {
            return relay.request(agent, command, timeout).unwrap_or_else(|e| {
                warn!("Request to agent '{agent}': {e}");
                b"err Cannot send request".to_vec()
            });
        }
        let counter = format!("{:x}", self.next_request.fetch_add(1, Ordering::Relaxed));
        let (answer, answered) = mpsc::sync_channel(MAX_ATTEMPTS + 1);
        crate::sync::lock(&self.pending.0).insert(counter.clone(), answer);
        let reply = self.exchange(agent, &counter, command, &answered, timeout);
        crate::sync::lock(&self.pending.0).remove(&counter);
        reply.unwrap_or_else(|e| {
            warn!("Request {counter} to agent '{agent}': {e}");
            e.as_bytes().to_vec()
        })
    }

    fn exchange(
        &self,
        agent: AgentId,
        counter: &str,
        command: &[u8],
        answered: &mpsc::Receiver<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Vec<u8>, &'static str> {
        let mut payload = format!("#!-req {counter} ").into_bytes();
        payload.extend_from_slice(command);
        let udp = self.live.seat(agent).is_some_and(|seat| seat.mailbox.is_udp());
        let mut got = None;
        for _ in 0..MAX_ATTEMPTS {
            self.send(agent, &payload, Kind::Request).map_err(|_| "err Cannot send request")?;
            if !udp {
                break;
            }
            if let Ok(first) = answered.recv_timeout(REQUEST_RTO) {
                got = Some(first);
                break;
            }
        }
        if udp && got.is_none() {
            return Err("err Maximum attempts exceeded");
        }
        // An ack says the agent has the request; its answer follows.
        let mut waits = 0;
        let answer = loop {
            match got {
                Some(answer) if answer != b"ack" => break answer,
                _ if waits == MAX_ATTEMPTS => return Err("err Maximum attempts exceeded"),
                _ => got = Some(answered.recv_timeout(timeout).map_err(|_| "err Response timeout")?),
            }
            waits += 1;
        };
        if udp {
            let _ = self.send(agent, format!("#!-req {counter} ack").as_bytes(), Kind::Request);
        }
        Ok(answer)
    }

    /// Hands an agent's `#!-req <counter> <answer>` to the request waiting for it.
    pub fn answer(&self, counter: &str, answer: &[u8]) {
        match crate::sync::lock(&self.pending.0).get(counter) {
            Some(waiting) => {
                let _ = waiting.try_send(answer.to_vec());
            }
            None => debug!("Request counter ({counter}) not found. Duplicated message?"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::keys::KeyEntry;
    use std::sync::Mutex;

    use crate::remote::live::{Mailbox, Outgoing, Route};
    use crate::secmsg;
    use crate::secmsg::Cipher;

    /// Commands over a registry where agent 1 is seated with `outbox`.
    fn seated(route: Route) -> (Commands, AgentId) {
        let live = Arc::new(LiveAgents::new(Duration::from_secs(60)));
        let id = AgentId::new(1).expect("id");
        let key = "k".repeat(64).parse().expect("key");
        let agent = crate::store::Agent::new(id, "web".parse().expect("name"), crate::store::AgentIp::any(), key, 0);
        let mailbox = Mailbox::new(Arc::new(KeyEntry::new(agent)), Cipher::Blowfish, route);
        let seated = live.take(id, live.connection(), None, true, mailbox);
        assert!(seated.is_ok());
        let commands = Commands::new(live, Arc::default(), Arc::default(), Duration::from_secs(900));
        (commands, id)
    }

    #[test]
    fn a_request_is_sealed_for_the_agent_and_waits_for_its_answer() {
        let (outbox, queued) = flume::bounded(1);
        let (commands, id) = seated(Route::Tcp(outbox));
        let commands = Arc::new(commands);
        let requester = Arc::clone(&commands);
        let waiting =
            std::thread::spawn(move || requester.request(id, b"agent getconfig client", Duration::from_secs(30)));
        let Ok(Outgoing::Frame(frame)) = queued.recv_timeout(Duration::from_secs(10)) else {
            panic!("no frame queued");
        };
        let keys = secmsg::AgentKeys::derive("001", "web", &"k".repeat(64));
        let opened = secmsg::open_frame(&keys, &frame[4..]).expect("sealed for the agent");
        let text = String::from_utf8(opened.payload).expect("text");
        let counter = text
            .strip_prefix("#!-req ")
            .and_then(|t| t.strip_suffix(" agent getconfig client"))
            .expect("#!-req <counter> <command>");
        assert!(u32::from_str_radix(counter, 16).is_ok(), "hex counter {counter}");
        commands.answer("ffffffff0", b"ok not this one");
        commands.answer(counter, b"ok {\"client\":{}}");
        assert_eq!(waiting.join().expect("thread"), b"ok {\"client\":{}}");
        assert_eq!(commands.stats.sent.request.get(), 1);
    }

    #[test]
    fn unreachable_agents_get_remoted_errors() {
        let (outbox, queued) = flume::bounded(1);
        let (commands, id) = seated(Route::Tcp(outbox));
        // Nobody answers: the requester is told so after the timeout.
        assert_eq!(commands.request(id, b"x y", Duration::from_millis(50)), b"err Response timeout");
        // The outbox holds one message, unread: the next send is refused, not blocked.
        assert_eq!(commands.send(id, b"#!-execd {}", Kind::ActiveResponse), Err(SendError::Busy(id)));
        drop(queued);
        assert_eq!(commands.send(id, b"#!-execd {}", Kind::ActiveResponse), Err(SendError::NotConnected(id)));
        let absent = AgentId::new(2).expect("id");
        assert_eq!(commands.request(absent, b"x y", Duration::from_secs(1)), b"err Cannot send request");
        assert_eq!(commands.stats.sent.discarded.get(), 3);
    }

    #[test]
    fn udp_requests_are_sent_again_until_acked_and_their_answer_is_acked() {
        let (socket, datagrams) = flume::bounded(16);
        let peer = "127.0.0.1:9".parse().expect("address");
        let (commands, id) = seated(Route::Udp { socket, peer: Mutex::new(peer) });
        let commands = Arc::new(commands);
        let requester = Arc::clone(&commands);
        let waiting = std::thread::spawn(move || requester.request(id, b"agent x", Duration::from_secs(30)));
        let keys = secmsg::AgentKeys::derive("001", "web", &"k".repeat(64));
        let next = || {
            let (to, datagram) = datagrams.recv_timeout(Duration::from_secs(10)).expect("a datagram");
            assert_eq!(to, peer);
            String::from_utf8(secmsg::open_frame(&keys, &datagram).expect("sealed").payload).expect("text")
        };
        let first = next();
        // Not acked within the retransmission time: the same request again.
        assert_eq!(next(), first);
        let counter = first.strip_prefix("#!-req ").and_then(|r| r.split(' ').next()).expect("counter");
        commands.answer(counter, b"ack");
        commands.answer(counter, b"ok done");
        assert_eq!(waiting.join().expect("thread"), b"ok done");
        assert_eq!(next(), format!("#!-req {counter} ack"));
    }

    #[test]
    fn udp_requests_nobody_acks_give_up() {
        let (socket, _datagrams) = flume::bounded(16);
        let (commands, id) = seated(Route::Udp { socket, peer: Mutex::new("127.0.0.1:9".parse().expect("address")) });
        assert_eq!(commands.request(id, b"agent x", Duration::from_secs(30)), b"err Maximum attempts exceeded");
    }
}
