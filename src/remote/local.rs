//! `queue/sockets/remote`: remoted's local stream socket (protocol.md §3.6). Each client sends one
//! message framed with a LE u32 length and reads one framed answer:
//! - `<agent-id> <target> <command…>`: a request relayed to the agent as `#!-req`, answered
//!   with the agent's response or `err …`;
//! - a JSON object: remoted's own commands (`{"command":"getstats"}`), answered with
//!   `{"error":…,"message":…,"data":…}`.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tracing::{debug, error, warn};

use super::commands::{Commands, RESPONSE_TIMEOUT};
use super::stats::Stats;
use crate::store::AgentId;

/// Largest message a client may send (`OS_MAXSTR`).
const MAX_MESSAGE: u32 = 65536;

/// Requests in flight at once (remoted's `request_pool`); more are refused.
const POOL: usize = 1024;

/// Time a client has to send its message.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the socket serves.
#[derive(Debug)]
pub struct Local {
    /// Sends to agents.
    pub commands: Arc<Commands>,
    /// The service's counters.
    pub stats: Arc<Stats>,
    /// Time an agent has to answer.
    pub response_timeout: Duration,
    in_flight: AtomicUsize,
}

impl Local {
    /// The socket's service with remoted's response timeout.
    pub fn new(commands: Arc<Commands>, stats: Arc<Stats>) -> Self {
        Self { commands, stats, response_timeout: RESPONSE_TIMEOUT, in_flight: AtomicUsize::new(0) }
    }

    /// The answer to one message.
    pub fn answer(&self, message: &[u8]) -> Vec<u8> {
        if message.first() == Some(&b'{') {
            return self.dispatch(message).to_string().into_bytes();
        }
        let Some(space) = memchr::memchr(b' ', message) else {
            error!("Request has no agent id.");
            return b"err Internal error".to_vec();
        };
        let Some(agent) = std::str::from_utf8(&message[..space]).ok().and_then(|id| id.parse::<AgentId>().ok()) else {
            error!("Request for an agent id that is not one");
            return b"err Internal error".to_vec();
        };
        self.commands.request(agent, &message[space + 1..], self.response_timeout)
    }

    /// remoted's JSON commands (`remcom_dispatch`).
    fn dispatch(&self, message: &[u8]) -> Value {
        let reply = |error: u8, message: &str, data: Value| json!({"error": error, "message": message, "data": data});
        let Ok(request) = serde_json::from_slice::<Value>(message) else {
            return reply(2, "Invalid JSON input", json!({}));
        };
        match request.get("command").and_then(Value::as_str) {
            None => reply(3, "Empty command", json!({})),
            Some("getstats") => reply(0, "ok", self.stats.json(crate::server::now())),
            Some(_) => reply(4, "Unrecognized command", json!({})),
        }
    }
}

/// Accepts clients until the socket fails; each is served on its own thread, since a request
/// waits for its agent.
pub fn serve(listener: UnixListener, local: Arc<Local>) {
    for client in listener.incoming() {
        let client = match client {
            Ok(client) => client,
            Err(e) => {
                warn!("local request socket accept failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if local.in_flight.fetch_add(1, Ordering::AcqRel) >= POOL {
            local.in_flight.fetch_sub(1, Ordering::AcqRel);
            error!("Request pool is full. Rejecting request.");
            let _ = write_frame(&client, b"err Internal error");
            continue;
        }
        let worker = Arc::clone(&local);
        let spawned = std::thread::Builder::new().name("vigil-request".into()).spawn(move || {
            if let Err(e) = serve_client(client, &worker) {
                debug!("local request client: {e}");
            }
            worker.in_flight.fetch_sub(1, Ordering::AcqRel);
        });
        if let Err(e) = spawned {
            local.in_flight.fetch_sub(1, Ordering::AcqRel);
            error!("cannot start a request thread: {e}");
        }
    }
}

fn serve_client(mut client: UnixStream, local: &Local) -> std::io::Result<()> {
    client.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    let mut header = [0u8; 4];
    client.read_exact(&mut header)?;
    let len = u32::from_le_bytes(header);
    if len == 0 || len > MAX_MESSAGE {
        warn!(len, "local request of a size refused");
        return Ok(());
    }
    let mut message = vec![0u8; len as usize];
    client.read_exact(&mut message)?;
    let answer = local.answer(&message);
    write_frame(&client, &answer)
}

fn write_frame(mut client: &UnixStream, body: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(body.len()).map_err(std::io::Error::other)?;
    client.write_all(&len.to_le_bytes())?;
    client.write_all(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::live::LiveAgents;

    #[test]
    fn json_commands_are_remoted_s_and_requests_need_an_agent() {
        let stats = Arc::new(Stats::default());
        stats.received.event.add(7);
        let live = Arc::new(LiveAgents::new(Duration::from_secs(60)));
        let commands = Commands::new(live, Arc::default(), Arc::clone(&stats), Duration::from_secs(900));
        let local = Local::new(Arc::new(commands), stats);
        let answer = |m: &[u8]| serde_json::from_slice::<Value>(&local.answer(m)).unwrap_or_default();
        let stats = answer(br#"{"command":"getstats"}"#);
        assert_eq!((stats["error"].as_u64(), stats["message"].as_str()), (Some(0), Some("ok")));
        assert_eq!(stats["data"]["metrics"]["messages"]["received_breakdown"]["event"], 7);
        assert_eq!(stats["data"]["name"], "wazuh-remoted");
        assert_eq!(answer(br#"{"command":"nope"}"#)["message"], "Unrecognized command");
        assert_eq!(answer(br#"{"x":1}"#)["message"], "Empty command");
        assert_eq!(answer(b"{broken")["message"], "Invalid JSON input");
        assert_eq!(local.answer(b"001 agent getconfig client"), b"err Cannot send request");
        assert_eq!(local.answer(b"nospace"), b"err Internal error");
        assert_eq!(local.answer(b"abc agent x"), b"err Internal error");
    }
}
