//! A simulated agent: registered through the CLI, connected over TCP with Wazuh's secure
//! protocol, sending and receiving sealed messages.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use vigil::secmsg::{self, AgentKeys, Cipher, Counters, Framer};

use super::ok;

/// An agent as the store registered it.
#[derive(Clone)]
pub struct Agent {
    pub id: String,
    pub name: String,
    pub keys: AgentKeys,
    pub cipher: Cipher,
}

/// Registers `name` through the CLI on `home`; its messages will use `cipher`.
pub fn add_agent(home: &Path, name: &str, cipher: Cipher) -> Agent {
    let added: serde_json::Value = serde_json::from_str(&ok(home, &["agents", "add", name, "--json"])).expect("JSON");
    let id = added["id"].as_str().expect("id").to_owned();
    let keys = AgentKeys::derive(&id, name, added["key"].as_str().expect("key"));
    Agent { id, name: name.to_owned(), keys, cipher }
}

/// A Linux agent's keepalive (its merged.mg sum is not the manager's).
pub const KEEPALIVE: &str = "#!-Linux |agent-debian8 |3.16.0-9-amd64 |#1 SMP Debian 3.16.68-1 (2019-05-22) |x86_64 \
                         [Debian GNU/Linux|debian: 8 (jessie)] - Wazuh v4.14.7 / ab73af41699f13fdd81903b5f23d8d00\n\
                         d6e3ac3e75ca0319af3e7c262776f331 merged.mg\n#\"_agent_ip\":10.0.2.15\n";

/// One agent connection.
pub struct Connection<'a> {
    /// The TCP connection (tests write raw bursts and change timeouts on it).
    pub stream: TcpStream,
    agent: &'a Agent,
    counters: Counters,
    framer: Framer,
}

impl<'a> Connection<'a> {
    pub fn open(port: u16, agent: &'a Agent) -> Self {
        Self::open_at("127.0.0.1", port, agent)
    }

    /// A connection to the manager at `host:port`.
    pub fn open_at(host: &str, port: u16, agent: &'a Agent) -> Self {
        let stream = TcpStream::connect((host, port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        Self { stream, agent, counters: Counters::default(), framer: Framer::default() }
    }

    pub fn send(&mut self, payload: &[u8]) {
        let agent = self.agent;
        let frame =
            secmsg::seal_frame(&agent.keys, agent.cipher, self.counters.advance(), 55555, payload, Some(&agent.id));
        self.stream.write_all(&frame.expect("seal")).expect("send");
    }

    /// The next message from the manager, decrypted; `None` when it closed the connection.
    pub fn receive(&mut self) -> Option<Vec<u8>> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(frame) = self.framer.next_frame().expect("valid frame") {
                let wire = secmsg::split(frame).expect("wire");
                assert_eq!(
                    (wire.agent_id, wire.cipher),
                    (None, self.agent.cipher),
                    "replies use the agent's cipher, no prefix"
                );
                return Some(
                    secmsg::open(&self.agent.keys, wire.cipher, wire.ciphertext).expect("reply decrypts").payload,
                );
            }
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.framer.push(&buf[..n]),
            }
        }
    }
}
