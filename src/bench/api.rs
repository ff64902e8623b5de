//! `vigil bench api`: the REST API over HTTPS on loopback with many agents in the store:
//! latency of `GET /agents?limit=500` and `GET /agents/summary/status`, and authenticated
//! requests per second of `GET /agents?limit=10` over several keep-alive connections.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use crate::api::{Api, Services};
use crate::home::Home;
use crate::store::{Agent, AgentId, AgentIp, AgentKey, GroupName, Os, Status, Store};

/// What the run measured.
#[derive(Debug, Clone)]
pub struct ApiRun {
    /// Agents in the store.
    pub agents: usize,
    /// `GET /agents?limit=500` latencies, sorted.
    pub list: Vec<Duration>,
    /// `GET /agents/summary/status` latencies, sorted.
    pub summary: Vec<Duration>,
    /// Connections of the throughput run.
    pub connections: usize,
    /// Requests answered 200 in the throughput run.
    pub answered: u64,
    /// Requests answered otherwise.
    pub failed: u64,
    /// Length of the throughput run.
    pub elapsed: Duration,
}

impl ApiRun {
    /// Requests per second of the throughput run.
    pub fn per_second(&self) -> f64 {
        self.answered as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Fills the store with `count` agents, in one transaction: most active, some disconnected or
/// never connected, in a few groups and operating systems.
fn seed(store: &Store, count: usize, now: i64) -> anyhow::Result<()> {
    let groups: Vec<GroupName> =
        ["default", "web", "db", "edge"].iter().map(|g| g.parse()).collect::<Result<_, _>>()?;
    let mut agents = Vec::with_capacity(count);
    for i in 0..count {
        let n = u32::try_from(i + 1)?;
        let id = AgentId::new(n).ok_or_else(|| anyhow::anyhow!("agent id {n} out of range"))?;
        let name = format!("bench-agent-{n:06}").parse()?;
        let ip: AgentIp = format!("10.{}.{}.{}", n >> 16 & 255, n >> 8 & 255, n & 255).parse()?;
        let mut agent = Agent::new(id, name, ip, AgentKey::generate()?, now - 86_400);
        agent.groups = vec![groups[i % groups.len()].clone()];
        agent.status = match i % 10 {
            0 => Status::Disconnected,
            1 => Status::NeverConnected,
            _ => Status::Active,
        };
        if agent.status != Status::NeverConnected {
            agent.last_keepalive = Some(now - (i % 60) as i64);
            agent.version = Some("Wazuh v4.14.7".into());
            agent.os = Os {
                name: Some("Ubuntu".into()),
                version: Some("22.04".into()),
                platform: Some("ubuntu".into()),
                arch: Some("x86_64".into()),
                ..Os::default()
            };
            agent.config_synced = i % 3 != 0;
        }
        agents.push(agent);
    }
    store.write(|w| {
        for g in &groups {
            w.add_group(g, now)?;
        }
        agents.iter().try_for_each(|a| w.insert(a))
    })?;
    Ok(())
}

/// One keep-alive HTTPS connection.
async fn connect(addr: SocketAddr, cert: &Path) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let tls = crate::tls::client_config(Some(cert), None)?;
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let name = rustls_pki_types::ServerName::try_from("localhost")?;
    let stream = tokio_rustls::TlsConnector::from(Arc::new(tls)).connect(name, stream).await?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// Sends one request; the status and body.
async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    method: &str,
    path: &str,
    auth: &str,
) -> anyhow::Result<(u16, Bytes)> {
    sender.ready().await?;
    let request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("authorization", auth)
        .body(Full::new(Bytes::new()))?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    Ok((status, response.into_body().collect().await?.to_bytes()))
}

/// Times `count` requests of `path` one after the other; sorted.
async fn latencies(
    sender: &mut SendRequest<Full<Bytes>>,
    path: &str,
    auth: &str,
    count: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        let (status, _) = send(sender, "GET", path, auth).await?;
        out.push(started.elapsed());
        anyhow::ensure!(status == 200, "{path} answered {status}");
    }
    out.sort_unstable();
    Ok(out)
}

/// Runs the benchmark on a new home at `root`.
pub fn run(root: &Path, agents: usize, seconds: u64, connections: usize) -> anyhow::Result<ApiRun> {
    let home = Home::new(root);
    home.prepare(crate::server::now())?;
    let mut config = crate::config::load(&home.config_file()).config;
    // The bench is the only client and must not be throttled.
    config.api.max_request_per_minute = 0;
    let store = home.store()?;
    seed(&store, agents, crate::server::now())?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let api = Arc::new(Api::open(root, Arc::new(config), store, Services::default())?);
        let addr = crate::api::start_at(Arc::clone(&api), "127.0.0.1:0".parse()?)
            .ok_or_else(|| anyhow::anyhow!("the API did not start"))?;
        let cert = root.join("etc/sslmanager.cert");
        let password = std::fs::read_to_string(root.join(crate::api::PASSWORDS_FILE))?
            .lines()
            .find_map(|l| l.strip_prefix("wazuh:").map(str::to_owned))
            .ok_or_else(|| anyhow::anyhow!("no password for wazuh"))?;
        use base64::Engine as _;
        let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("wazuh:{password}")));
        let mut sender = connect(addr, &cert).await?;
        let (status, token) = send(&mut sender, "POST", "/security/user/authenticate?raw=true", &basic).await?;
        anyhow::ensure!(status == 200, "login answered {status}");
        let bearer = format!("Bearer {}", String::from_utf8_lossy(&token));
        latencies(&mut sender, "/agents?limit=500", &bearer, 20).await?;
        let list = latencies(&mut sender, "/agents?limit=500", &bearer, 500).await?;
        let summary = latencies(&mut sender, "/agents/summary/status", &bearer, 1000).await?;
        let answered = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        let mut clients = Vec::new();
        for _ in 0..connections {
            let (answered, failed, bearer, cert) =
                (Arc::clone(&answered), Arc::clone(&failed), bearer.clone(), cert.clone());
            clients.push(tokio::spawn(async move {
                let mut sender = connect(addr, &cert).await?;
                while Instant::now() < deadline {
                    match send(&mut sender, "GET", "/agents?limit=10", &bearer).await {
                        Ok((200, _)) => answered.fetch_add(1, Ordering::Relaxed),
                        _ => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
                anyhow::Ok(())
            }));
        }
        for client in clients {
            client.await??;
        }
        Ok(ApiRun {
            agents,
            list,
            summary,
            connections,
            answered: answered.load(Ordering::Relaxed),
            failed: failed.load(Ordering::Relaxed),
            elapsed: started.elapsed(),
        })
    })
}
