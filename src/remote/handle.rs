//! One decrypted message acted on, the same for TCP and UDP: its sender identified and its
//! payload opened ([`receive`]), then acks, file pushes, status, answers and events
//! ([`act`]); what it produces goes to an [`Output`].

use std::net::IpAddr;
use std::sync::Arc;

use tracing::{debug, info};

use super::control::{self, Payload};
use super::core::{ACK, Close, Core};
use super::keys::KeyEntry;
use super::status::Update;
use super::{event, keepalive};
use crate::secmsg::{self, Cipher};

/// What the frames of one read produce.
#[derive(Debug, Default)]
pub struct Output {
    /// Framed, encrypted messages for the agent, in order.
    pub replies: Vec<Vec<u8>>,
    /// Messages for the engine.
    pub events: Vec<Vec<u8>>,
}

/// A message's sender and its opened payload.
#[derive(Debug)]
pub struct Received {
    /// The sender.
    pub entry: Arc<KeyEntry>,
    /// The cipher it used (replies use it too).
    pub cipher: Cipher,
    /// The payload.
    pub payload: Vec<u8>,
}

impl Received {
    /// What the payload is; a malformed control message refuses the message.
    pub fn classify(&self) -> Result<Payload<'_>, Close> {
        control::classify(&self.payload).map_err(|e| ("bad_control", format!("agent {}: {e}", self.entry.agent.id)))
    }
}

/// Identifies the sender of the wire message `wire` from `ip` and opens it.
pub fn receive(wire: &[u8], ip: IpAddr, core: &Core) -> Result<Received, Close> {
    let wire = secmsg::split(wire).map_err(|e| (e.reason(), format!("(1403): {e}")))?;
    let entry = core
        .keys
        .borrow_mut()
        .identify(&core.store, wire.agent_id, ip)
        .map_err(|e| ("unknown_agent", e.to_string()))?;
    let opened = secmsg::open(&entry.keys, wire.cipher, wire.ciphertext)
        .map_err(|e| (e.reason(), format!("agent {}: {e}", entry.agent.id)))?;
    Ok(Received { entry, cipher: wire.cipher, payload: opened.payload })
}

/// Acts on `payload` from `received`'s sender at `ip`: replies and events go to `out`.
pub fn act(received: &Received, payload: Payload<'_>, ip: IpAddr, core: &Core, out: &mut Output) -> Result<(), Close> {
    let (entry, cipher) = (&received.entry, received.cipher);
    let agent = &entry.agent;
    let reply = match payload {
        Payload::Startup { version } => {
            if let Some(v) = &version
                && !core.allow_higher_versions
                && crate::enroll::request::newer_than_manager(v)
            {
                let refusal = br#"#!-err {"message":"Agent version must be lower or equal to manager version"}"#;
                out.replies.push(seal(core, entry, cipher, refusal)?);
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
            out.replies.push(seal(core, entry, cipher, ACK)?);
            core.stats.sent.ack.inc();
            // The agent's group (or multigroup) file, when the agent holds another one.
            let groups: Vec<&str> = agent.groups.iter().map(|g| g.as_str()).collect();
            let merged = core.shared.for_agent(&groups);
            let synced = merged.as_ref().is_none_or(|m| keepalive.merged_sum.as_deref() == Some(m.sum.as_str()));
            if let Some(merged) = merged.filter(|_| !synced) {
                debug!(agent = %agent.id, "sending merged.mg");
                for message in merged.push_messages() {
                    out.replies.push(seal(core, entry, cipher, &message)?);
                    core.stats.sent.shared.inc();
                }
            }
            core.status.send(Update::Keepalive { id: agent.id, keepalive, peer: ip, synced });
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
        out.replies.push(seal(core, entry, cipher, payload)?);
        core.stats.sent.ack.inc();
    }
    Ok(())
}

/// A reply to the agent in the cipher it used, framed.
fn seal(core: &Core, entry: &KeyEntry, cipher: Cipher, payload: &[u8]) -> Result<Vec<u8>, Close> {
    core.counters.seal(&entry.keys, cipher, payload).map_err(|e| (e.reason(), e.to_string()))
}
