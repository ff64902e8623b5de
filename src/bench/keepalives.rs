//! Many idle agents: a real `vigil serve` child on a fresh home with `agents` agents
//! provisioned, and this process holding one connection per agent that sends its start-up and
//! then a keepalive per round, the rounds' keepalives spread over `spread`. It measures each
//! keepalive's ack latency and the server's resident memory with every agent connected.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::home::Home;
use crate::secmsg::{self, AgentKeys, Cipher, Counters, Framer};

/// What one run measured.
#[derive(Debug, Clone)]
pub struct KeepaliveRun {
    /// Agents connected.
    pub agents: usize,
    /// Keepalives acked.
    pub acked: usize,
    /// Ack latencies, sorted.
    pub latencies: Vec<Duration>,
    /// The server's resident memory with every agent connected, bytes.
    pub server_rss: u64,
    /// The data plane's I/O driver, from the server's log.
    pub driver: String,
}

impl KeepaliveRun {
    /// The latency below which `p` (0–1) of the acks came.
    pub fn percentile(&self, p: f64) -> Duration {
        super::percentile(&self.latencies, p)
    }
}

/// Kills the server child however the run ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Lays out the home with a free agent port and enrollment off, provisions the agents, and
/// starts `vigil serve` on it.
/// The server, its agent port, and each agent's id and keys.
type Started = (Server, u16, Vec<(String, AgentKeys)>);

fn start_server(root: &std::path::Path, agents: usize) -> anyhow::Result<Started> {
    let home = Home::new(root);
    home.prepare(crate::server::now())?;
    let port = free_port()?;
    let path = home.config_file();
    let config = std::fs::read_to_string(&path)?;
    let config = config
        .replace("<port>1514</port>", &format!("<port>{port}</port>"))
        .replace("<port>1515</port>", &format!("<port>{}</port>", free_port()?));
    std::fs::write(&path, config)?;
    let store = home.store()?;
    let added = super::provision(&store, "idle", agents)?;
    drop(store);
    let keys = added
        .iter()
        .map(|a| (a.id.to_string(), AgentKeys::derive(&a.id.to_string(), a.name.as_str(), a.key.expose())))
        .collect();
    let exe = std::env::current_exe()?;
    let child =
        Command::new(exe).arg("serve").arg("--home").arg(root).stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
    let server = Server(child);
    let log = home.path("logs/ossec.log");
    let started = Instant::now();
    while !std::fs::read_to_string(&log).unwrap_or_default().contains("Agent connection service listening") {
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the server did not start; see {}", log.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((server, port, keys))
}

/// One simulated agent.
struct Idle {
    stream: TcpStream,
    id: String,
    keys: AgentKeys,
    counters: Counters,
    framer: Framer,
}

impl Idle {
    async fn connect(port: u16, id: String, keys: AgentKeys) -> anyhow::Result<Self> {
        let mut tries = 0;
        let stream = loop {
            // A full accept queue refuses a few: try again, as an agent does.
            match TcpStream::connect(("127.0.0.1", port)).await {
                Ok(stream) => break stream,
                Err(_) if tries < 50 => tries += 1,
                Err(e) => return Err(e.into()),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        Ok(Self { stream, id, keys, counters: Counters::default(), framer: Framer::default() })
    }

    /// Sends `payload` and waits for the ack; returns how long the ack took.
    async fn exchange(&mut self, payload: &[u8]) -> anyhow::Result<Duration> {
        let frame =
            secmsg::seal_frame(&self.keys, Cipher::Aes, self.counters.advance(), 55555, payload, Some(&self.id))?;
        let sent = Instant::now();
        self.stream.write_all(&frame).await?;
        let mut buf = [0u8; 2048];
        loop {
            if let Some(frame) = self.framer.next_frame()? {
                let opened = secmsg::open_frame(&self.keys, frame)?;
                // A merged.mg push may follow an ack; only the ack is timed.
                if opened.payload == crate::remote::core::ACK {
                    return Ok(sent.elapsed());
                }
                continue;
            }
            let n =
                tokio::time::timeout(Duration::from_secs(30), self.stream.read(&mut buf)).await.context("no ack")??;
            if n == 0 {
                bail!("the server closed agent {}'s connection", self.id);
            }
            self.framer.push(&buf[..n]);
        }
    }
}

/// Runs `rounds` keepalive rounds of `agents` agents, each round spread over `spread`.
pub fn run(root: &std::path::Path, agents: usize, rounds: usize, spread: Duration) -> anyhow::Result<KeepaliveRun> {
    let (server, port, keys) = start_server(root, agents)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    // Agents in step with their group, as they are once the first push is done.
    let merged = std::fs::read(root.join("etc/shared/default/merged.mg")).context("the server wrote no merged.mg")?;
    let sum = String::from_utf8_lossy(&secmsg::key::hex_md5(&merged)).into_owned();
    let text = format!(
        "#!-Linux |idle |6.1 |#1 |x86_64 [Debian GNU/Linux|debian: 12 (bookworm)] - Wazuh v4.14.7\n{sum} merged.mg\n"
    );
    let keepalive: Arc<[u8]> = Arc::from(text.into_bytes());
    let (latencies, rss) = runtime.block_on(async {
        let mut connected = Vec::with_capacity(agents);
        for (id, keys) in keys {
            let mut agent = Idle::connect(port, id, keys).await?;
            agent.exchange(br#"#!-agent startup {"version":"v4.14.7"}"#).await?;
            connected.push(agent);
        }
        let rss = super::resident_bytes_of(&server.0.id().to_string()).unwrap_or(0);
        let started = Instant::now();
        let count = connected.len().max(1) as u32;
        let tasks: Vec<_> = connected
            .into_iter()
            .enumerate()
            .map(|(n, mut agent)| {
                let keepalive = Arc::clone(&keepalive);
                let offset = spread * n as u32 / count;
                tokio::spawn(async move {
                    let mut latencies = Vec::with_capacity(rounds);
                    for round in 0..rounds {
                        tokio::time::sleep_until((started + spread * round as u32 + offset).into()).await;
                        latencies.push(agent.exchange(&keepalive).await?);
                    }
                    anyhow::Ok(latencies)
                })
            })
            .collect();
        let mut all = Vec::with_capacity(agents * rounds);
        for task in tasks {
            all.extend(task.await??);
        }
        anyhow::Ok((all, rss.max(super::resident_bytes_of(&server.0.id().to_string()).unwrap_or(0))))
    })?;
    let log = std::fs::read_to_string(root.join("logs/ossec.log")).unwrap_or_default();
    let driver = log.split("driver=").nth(1).and_then(|d| d.split_whitespace().next()).unwrap_or("?").to_owned();
    let mut latencies = latencies;
    latencies.sort_unstable();
    Ok(KeepaliveRun { agents, acked: latencies.len(), latencies, server_rss: rss, driver })
}
