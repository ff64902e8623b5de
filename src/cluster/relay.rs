//! Commands for agents connected to another node (active responses, restarts, `#!-req`
//! requests, `force_reconnect`): sent as a NATS request to the subject of the node holding the
//! agent ([`super::holders`]), which delivers it through its own connection and answers. Both
//! ways are sealed with the cluster key.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tracing::warn;

use super::holders::Holders;
use super::seal::Sealer;
use super::stats::Stats;
use crate::remote::commands::{Commands, Kind, Relay, SendError};
use crate::store::AgentId;

/// How long a plain send may take, the other node's delivery included.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest command accepted from another node.
const MAX_COMMAND: usize = 64 * 1024;
/// Commands from other nodes handled at once.
const MAX_IN_FLIGHT: usize = 64;
/// Longest another node may have a request wait for its agent.
const MAX_REQUEST_WAIT: Duration = Duration::from_secs(300);

/// The subject on which `node` of `cluster` takes commands.
pub fn subject(cluster: &str, node: &str) -> String {
    format!("vigil.{}.node.{}.command", crate::hex::encode(cluster.as_bytes()), crate::hex::encode(node.as_bytes()))
}

/// What one node asks another.
#[derive(Debug, Serialize, Deserialize)]
struct Command {
    agent: u32,
    /// Base64 of the message.
    payload: String,
    /// `None` for a request awaiting the agent's answer.
    kind: Option<Kind>,
    /// For a request: how long to wait for the agent, in milliseconds.
    timeout_ms: u64,
}

/// The answer: delivered (with the agent's answer to a request) or why not.
#[derive(Debug, Serialize, Deserialize)]
struct Answer {
    error: Option<String>,
    /// Base64 of the agent's answer to a request.
    answer: Option<String>,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// Takes commands for this node's agents for good. Commands are sealed with the cluster key:
/// another NATS user cannot order an active response.
pub async fn serve(client: async_nats::Client, subject: String, commands: Arc<Commands>, sealer: Arc<Sealer>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    loop {
        let mut inbox = match client.subscribe(subject.clone()).await {
            Ok(inbox) => inbox,
            Err(e) => {
                warn!(stage = "cluster", "cannot take commands from other nodes: {e}; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        while let Some(message) = inbox.next().await {
            let Some(reply) = message.reply else { continue };
            let (commands, client, sealer) = (Arc::clone(&commands), client.clone(), Arc::clone(&sealer));
            let subject = subject.clone();
            let slot = Arc::clone(&slots).try_acquire_owned();
            tokio::spawn(async move {
                let answer = match (slot, sealer.open(&subject, &message.payload)) {
                    (Err(_), _) => Answer::failed("too many commands at once".into()),
                    (_, Err(e)) => Answer::failed(format!("command refused: {e}")),
                    (Ok(_slot), Ok(plain)) => tokio::task::spawn_blocking(move || execute(&commands, &plain))
                        .await
                        .unwrap_or_else(|e| Answer::failed(e.to_string())),
                };
                let bytes = serde_json::to_vec(&answer).unwrap_or_default();
                if let Ok(sealed) = sealer.seal(&answer_context(&subject), &bytes) {
                    let _ = client.publish(reply, Bytes::from(sealed)).await;
                }
            });
        }
    }
}

impl Answer {
    fn failed(error: String) -> Self {
        Self { error: Some(error), answer: None }
    }
}

/// What an answer is sealed for: the command's subject, marked as an answer.
fn answer_context(subject: &str) -> String {
    format!("{subject}:answer")
}

/// Delivers one command here; blocking (a request waits for the agent).
fn execute(commands: &Commands, raw: &[u8]) -> Answer {
    let failed = Answer::failed;
    if raw.len() > MAX_COMMAND {
        return failed(format!("command of {} bytes refused (limit {MAX_COMMAND})", raw.len()));
    }
    let command: Command = match serde_json::from_slice(raw) {
        Ok(c) => c,
        Err(e) => return failed(format!("not a command: {e}")),
    };
    let Some(agent) = AgentId::new(command.agent) else { return failed("invalid agent id".into()) };
    let Ok(payload) = b64().decode(&command.payload) else { return failed("payload is not base64".into()) };
    if !commands.holds(agent) {
        return failed(format!("agent {agent} is not connected here"));
    }
    match command.kind {
        Some(kind) => match commands.send(agent, &payload, kind) {
            Ok(()) => Answer { error: None, answer: None },
            Err(e) => failed(e.to_string()),
        },
        None => {
            let timeout = Duration::from_millis(command.timeout_ms).min(MAX_REQUEST_WAIT);
            let answer = commands.request(agent, &payload, timeout);
            Answer { error: None, answer: Some(b64().encode(answer)) }
        }
    }
}

/// Passes commands to the node holding the agent.
#[derive(Debug)]
pub struct NatsRelay {
    /// The NATS connection.
    pub client: async_nats::Client,
    /// The cluster's name (in the subjects).
    pub cluster: String,
    /// This node (never asked through NATS).
    pub node: String,
    /// Who holds which agent.
    pub holders: Arc<Holders>,
    /// The runtime the NATS client runs on.
    pub runtime: tokio::runtime::Handle,
    /// Counters.
    pub stats: Arc<Stats>,
    /// Seals commands and opens answers with the cluster key.
    pub sealer: Arc<Sealer>,
}

impl NatsRelay {
    /// Asks the holder of `agent`; blocks until it answers or `timeout` passes.
    fn call(&self, agent: AgentId, command: &Command, timeout: Duration) -> Result<Answer, SendError> {
        let holder = self.holders.get(agent).filter(|h| h.node != self.node).ok_or(SendError::NotConnected(agent))?;
        let fail = |e: String| {
            self.stats.relay_failures.inc();
            SendError::Relay(agent, holder.node.clone(), e)
        };
        let subject = subject(&self.cluster, &holder.node);
        let plain = serde_json::to_vec(command).map_err(|e| fail(e.to_string()))?;
        let body = Bytes::from(self.sealer.seal(&subject, &plain).map_err(|e| fail(e.to_string()))?);
        let request = async_nats::Request::new().payload(body).timeout(Some(timeout));
        let (tell, told) = std::sync::mpsc::sync_channel(1);
        let client = self.client.clone();
        let context = answer_context(&subject);
        let started = Instant::now();
        self.runtime.spawn(async move {
            let _ = tell.send(client.send_request(subject, request).await.map_err(|e| e.to_string()));
        });
        let message =
            told.recv_timeout(timeout + Duration::from_secs(1)).map_err(|_| fail("no answer".into()))?.map_err(fail)?;
        let plain = self.sealer.open(&context, &message.payload).map_err(|e| fail(format!("bad answer: {e}")))?;
        let answer: Answer = serde_json::from_slice(&plain).map_err(|e| fail(format!("bad answer: {e}")))?;
        if let Some(e) = answer.error {
            return Err(fail(e));
        }
        self.stats.relayed.inc();
        self.stats.relay_rtt_ms.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        Ok(answer)
    }
}

impl Relay for NatsRelay {
    fn send(&self, agent: AgentId, payload: &[u8], kind: Kind) -> Result<(), SendError> {
        let command = Command { agent: agent.get(), payload: b64().encode(payload), kind: Some(kind), timeout_ms: 0 };
        self.call(agent, &command, SEND_TIMEOUT).map(drop)
    }

    fn version(&self, agent: AgentId) -> Option<String> {
        self.holders.get(agent)?.version
    }

    fn request(&self, agent: AgentId, command: &[u8], timeout: Duration) -> Result<Vec<u8>, SendError> {
        let timeout_ms = timeout.as_millis() as u64;
        let command = Command { agent: agent.get(), payload: b64().encode(command), kind: None, timeout_ms };
        let answer = self.call(agent, &command, timeout + SEND_TIMEOUT)?;
        Ok(answer.answer.and_then(|a| b64().decode(a).ok()).unwrap_or_default())
    }
}
