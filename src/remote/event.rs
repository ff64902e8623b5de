//! Events from agents, rewritten as remoted forwards them to analysisd (protocol.md §4.3):
//! `<q>:<location>:<log>` becomes `<q>:[<id>] (<name>) <ip>-><location>:<log>`.

use crate::store::Agent;

/// Why an event was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Shorter than `q:x` or the second byte is not `:`.
    #[error("malformed event")]
    Malformed,
    /// A `keepalive` location: remoted drops these.
    #[error("keepalive event")]
    Keepalive,
}

/// The message analysisd reads for an event `payload` from `agent`.
pub fn forward(agent: &Agent, payload: &[u8]) -> Result<Vec<u8>, EventError> {
    if payload.len() < 3 || payload[1] != b':' {
        return Err(EventError::Malformed);
    }
    let rest = &payload[2..];
    if rest.starts_with(b"keepalive") {
        return Err(EventError::Keepalive);
    }
    // A `:` in the source (an IPv6 address) is escaped as the agent escapes its locations.
    let ip = agent.ip.as_str().replace(':', "|:");
    let source = format!("[{}] ({}) {ip}->", agent.id, agent.name);
    let mut message = Vec::with_capacity(2 + source.len() + rest.len());
    message.extend_from_slice(&payload[..2]);
    message.extend_from_slice(source.as_bytes());
    message.extend_from_slice(rest);
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AgentIp, AgentKey};

    fn agent(ip: &str) -> Agent {
        let key: AgentKey = "k".repeat(64).parse().expect("key");
        Agent::new(
            crate::store::AgentId::new(1).expect("id"),
            "web01".parse().expect("name"),
            ip.parse::<AgentIp>().expect("ip"),
            key,
            0,
        )
    }

    #[test]
    fn events_carry_the_agent_in_their_location() {
        let forwarded = forward(&agent("any"), b"1:/var/log/auth.log:Failed password");
        assert_eq!(forwarded.as_deref(), Ok(&b"1:[001] (web01) any->/var/log/auth.log:Failed password"[..]));
        let windows = forward(&agent("10.0.0.0/8"), br"1:C|:\app.log:x");
        assert_eq!(windows.as_deref(), Ok(&br"1:[001] (web01) 10.0.0.0/8->C|:\app.log:x"[..]));
        let v6 = forward(&agent("fe80::1"), b"1:loc:x").unwrap_or_default();
        assert!(String::from_utf8_lossy(&v6).starts_with("1:[001] (web01) fe80|:|:1->loc:x"));
        assert_eq!(forward(&agent("any"), b"1x/var/log"), Err(EventError::Malformed));
        assert_eq!(forward(&agent("any"), b"1:keepalive:x"), Err(EventError::Keepalive));
    }
}
