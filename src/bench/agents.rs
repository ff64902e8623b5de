//! End-to-end agent load: the agent connection service, the engine and the alert files of a
//! fresh home in this process, and simulated agents on loopback. Each agent connects over TCP,
//! sends its start-up and a keepalive and waits for both acks, then streams events replayed
//! from frames encrypted under its own key before the clock starts, so the generator costs
//! little. Every event sent must be analysed: the run fails when one is missing.

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use super::corpus;
use crate::config::{self, IoDriver};
use crate::home::Home;
use crate::remote::service;
use crate::secmsg::{self, AgentKeys, Cipher, Counters, Framer};
use crate::server::queue::Sink;

/// Distinct frames each agent replays.
const FRAMES_PER_AGENT: usize = 64;
/// Frames written to a socket at once.
const BURST: usize = 16;

/// What one run measured.
#[derive(Debug, Clone)]
pub struct AgentsRun {
    /// Agents connected.
    pub agents: usize,
    /// Start-up and keepalive acks received.
    pub acks: usize,
    /// Events sent.
    pub sent: u64,
    /// Events the server analysed.
    pub analysed: u64,
    /// Alerts in alerts.json.
    pub alerts: usize,
    /// From the first event sent to the last analysed.
    pub elapsed: Duration,
    /// The data plane's I/O driver.
    pub driver: &'static str,
}

impl AgentsRun {
    /// Events per second, end to end.
    pub fn per_second(&self) -> f64 {
        self.analysed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A corpus line as an agent sends it: `1:<path>:<log>` (the corpus's pre-routed lines lose
/// their `[id] (name) ip->` part, which the server adds).
fn agent_payload(message: &[u8]) -> Vec<u8> {
    match (message.starts_with(b"1:["), message.windows(2).position(|w| w == b"->")) {
        (true, Some(arrow)) => [&b"1:"[..], &message[arrow + 2..]].concat(),
        _ => message.to_vec(),
    }
}

/// One simulated agent's connection and frames.
struct Simulated {
    stream: TcpStream,
    frames: Vec<Vec<u8>>,
    keys: AgentKeys,
}

impl Simulated {
    fn ack(&mut self, framer: &mut Framer) -> anyhow::Result<()> {
        let mut buf = [0u8; 2048];
        loop {
            if let Some(frame) = framer.next_frame()? {
                let opened = secmsg::open_frame(&self.keys, frame)?;
                if opened.payload != crate::remote::core::ACK {
                    bail!("expected an ack, got {:?}", String::from_utf8_lossy(&opened.payload));
                }
                return Ok(());
            }
            let n = self.stream.read(&mut buf)?;
            if n == 0 {
                bail!("the server closed the connection");
            }
            framer.push(&buf[..n]);
        }
    }
}

fn seal(keys: &AgentKeys, id: &str, counters: &mut Counters, payload: &[u8]) -> anyhow::Result<Vec<u8>> {
    Ok(secmsg::seal_frame(keys, Cipher::Aes, counters.advance(), 55555, payload, Some(id))?)
}

/// Runs `events` events from `agents` agents through a fresh home at `root`.
pub fn run(root: &std::path::Path, agents: usize, events: u64, driver: IoDriver) -> anyhow::Result<AgentsRun> {
    let home = Home::new(root);
    home.prepare(crate::server::now())?;
    let loaded = config::load(&home.config_file());
    let (engine, _) = crate::engine::live::compile(home.root(), &loaded.config)?;
    let live = Arc::new(crate::engine::live::Live::new(engine, Vec::new()));
    let sink = Arc::new(Sink::open(&home, &loaded.config, live, None)?);
    let store = home.store()?;
    let added = super::provision(&store, "load", agents)?;
    let settings = service::Settings {
        endpoints: vec![service::Endpoint::SecureTcp(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0))],
        syslog_access: Default::default(),
        workers: std::thread::available_parallelism().map_or(1, usize::from),
        driver,
        allow_higher_versions: false,
        shared_dir: home.path("etc/shared"),
        multigroups_dir: home.path("var/multigroups"),
        overtake: loaded.config.remote.connection_overtake_time,
        frame_timeout: loaded.config.remote.frame_timeout,
        disconnection: loaded.config.global.agents_disconnection_time,
    };
    let service = service::start(&settings, &store, &sink)?;
    let driver = if service.drivers.iter().all(|d| d.is_iouring()) { "io_uring" } else { "epoll" };

    let corpus: Vec<Vec<u8>> = corpus::mix(FRAMES_PER_AGENT * 16, 2026).iter().map(|m| agent_payload(m)).collect();
    let keepalive =
        b"#!-Linux |load |6.1 |#1 |x86_64 [Debian GNU/Linux|debian: 12 (bookworm)] - Wazuh v4.14.7\nx merged.mg\n";
    let mut simulated = Vec::with_capacity(agents);
    let mut acks = 0;
    for (n, agent) in added.iter().enumerate() {
        let id = agent.id.to_string();
        let keys = AgentKeys::derive(&id, agent.name.as_str(), agent.key.expose());
        let mut counters = Counters::default();
        let frames = (0..FRAMES_PER_AGENT)
            .map(|i| seal(&keys, &id, &mut counters, &corpus[(n * 7 + i) % corpus.len()]))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let addr = service.local_addr.context("no agent listener")?;
        let stream = TcpStream::connect(addr).context("cannot connect an agent")?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut agent = Simulated { stream, frames, keys };
        let mut framer = Framer::default();
        for control in [&br#"#!-agent startup {"version":"v4.14.7"}"#[..], keepalive] {
            let frame = seal(&agent.keys, &id, &mut counters, control)?;
            agent.stream.write_all(&frame)?;
            agent.ack(&mut framer)?;
            acks += 1;
        }
        simulated.push(agent);
    }

    let before = sink.log.counts().events.load(Ordering::Relaxed);
    let started = Instant::now();
    let mut sent = 0u64;
    let mut round = 0;
    'send: loop {
        for agent in &mut simulated {
            let mut burst = Vec::with_capacity(BURST * 512);
            for i in 0..BURST {
                if sent == events {
                    if !burst.is_empty() {
                        agent.stream.write_all(&burst)?;
                    }
                    break 'send;
                }
                burst.extend_from_slice(&agent.frames[(round * BURST + i) % FRAMES_PER_AGENT]);
                sent += 1;
            }
            agent.stream.write_all(&burst)?;
        }
        round += 1;
    }
    // Wait for the server to analyse everything sent; it stops making progress only if lost.
    let mut last = (sink.log.counts().events.load(Ordering::Relaxed), Instant::now());
    while sink.log.counts().events.load(Ordering::Relaxed) - before < sent {
        std::thread::sleep(Duration::from_millis(2));
        let now = sink.log.counts().events.load(Ordering::Relaxed);
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(10) {
            break;
        }
    }
    let elapsed = started.elapsed();
    let analysed = sink.log.counts().events.load(Ordering::Relaxed) - before;
    sink.log.barrier();
    let alerts = std::fs::read_to_string(home.path("logs/alerts/alerts.json")).map_or(0, |t| t.lines().count());
    Ok(AgentsRun { agents, acks, sent, analysed, alerts, elapsed, driver })
}
