//! `queue/alerts/ar`: the datagram socket where active responses (and the API's raw control
//! messages) are left for agents (protocol.md §5.1, remoted's ar-forward.c). A message is
//! `(<source>) [<ip>] <flags> <agent-id> <text>`, the three flags being `A` (every connected
//! agent) or `N`, `R` (the agent that raised the alert), `!` (a raw control message, sent as
//! `#!-<text>`; otherwise `#!-execd <text>`) or `N`, and `S` (the agent named) or `N`.

use std::os::unix::net::UnixDatagram;
use std::sync::Arc;

use tracing::{debug, error, warn};

use super::commands::{Commands, Kind};
use crate::store::AgentId;

/// Largest message (`OS_MAXSTR`).
const MAX_MESSAGE: usize = 65536;

/// Who gets a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every connected agent.
    All,
    /// One agent, by id as written.
    Agent(String),
    /// Nobody (no target flag set).
    Nobody,
}

/// A message for agents, read from the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArMessage {
    /// Who gets it.
    pub target: Target,
    /// The payload sent: `#!-execd <text>` or `#!-<text>`.
    pub payload: Vec<u8>,
}

/// A message not in the queue's format (Wazuh's EXECD_INV_MSG).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid active response (execd) message '{0}'")]
pub struct Invalid(pub String);

/// Reads one queue message.
pub fn parse(message: &[u8]) -> Result<ArMessage, Invalid> {
    let invalid = || Invalid(String::from_utf8_lossy(message).into_owned());
    let after_source = memchr::memchr(b')', message).map(|i| i + 2).ok_or_else(invalid)?;
    let rest = message.get(after_source..).ok_or_else(invalid)?;
    let after_ip = memchr::memchr(b']', rest).map(|i| i + 2).ok_or_else(invalid)?;
    let rest = rest.get(after_ip..).ok_or_else(invalid)?;
    let [all, kind, specific, b' ', ..] = rest else { return Err(invalid()) };
    let rest = &rest[4..];
    let space = memchr::memchr(b' ', rest).ok_or_else(invalid)?;
    let (agent, text) = (&rest[..space], &rest[space + 1..]);
    let target = if *all == b'A' {
        Target::All
    } else if *kind == b'R' || *specific == b'S' {
        Target::Agent(String::from_utf8_lossy(agent).into_owned())
    } else {
        Target::Nobody
    };
    let header: &[u8] = if *kind == b'!' { b"#!-" } else { b"#!-execd " };
    Ok(ArMessage { target, payload: [header, text].concat() })
}

/// Sends `message` to its agents; returns how many it reached.
pub fn forward(commands: &Commands, message: &ArMessage) -> usize {
    let agents = match &message.target {
        Target::All => commands.connected(),
        Target::Agent(id) => match id.parse::<AgentId>() {
            Ok(agent) => vec![agent],
            Err(_) => {
                warn!("Active response for an agent id that is not one: '{id}'");
                return 0;
            }
        },
        Target::Nobody => Vec::new(),
    };
    let kind = if message.payload.starts_with(b"#!-execd ") { Kind::ActiveResponse } else { Kind::Control };
    agents
        .into_iter()
        .filter(|agent| match commands.send_anywhere(*agent, &message.payload, kind) {
            Ok(()) => true,
            Err(e) => {
                warn!("Active response not sent: {e}");
                false
            }
        })
        .count()
}

/// Reads the queue until it fails.
pub fn serve(socket: UnixDatagram, commands: Arc<Commands>) {
    let mut buf = vec![0u8; MAX_MESSAGE + 1];
    loop {
        let n = match socket.recv(&mut buf) {
            Ok(n) if n > MAX_MESSAGE => {
                warn!("active response message larger than {MAX_MESSAGE} bytes dropped");
                continue;
            }
            Ok(n) => n,
            Err(e) => return error!("active response queue closed: {e}"),
        };
        match parse(&buf[..n]) {
            Ok(message) => {
                let reached = forward(&commands, &message);
                debug!(reached, "Active response request forwarded");
            }
            Err(e) => warn!("{e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_messages_are_read_as_remoted_reads_them() {
        let execd = parse(br#"(local_source) [] NRN 001 {"version":1,"command":"firewall-drop0"}"#);
        assert_eq!(
            execd,
            Ok(ArMessage {
                target: Target::Agent("001".into()),
                payload: br#"#!-execd {"version":1,"command":"firewall-drop0"}"#.to_vec()
            })
        );
        let raw = parse(b"(msg_to_agent) [] N!S 007 force_reconnect");
        assert_eq!(raw, Ok(ArMessage { target: Target::Agent("007".into()), payload: b"#!-force_reconnect".to_vec() }));
        let all = parse(b"(local_source) [10.0.0.1] ANN (null) restart-wazuh0 - - 1.1 5 loc - -");
        assert_eq!(all.map(|m| m.target), Ok(Target::All));
        assert_eq!(parse(b"(x) [] NNN 001 text").map(|m| m.target), Ok(Target::Nobody));
        for bad in [&b"no parenthesis"[..], b"(x)", b"(x) [", b"(x) [] NR", b"(x) [] NRS 001", b""] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
