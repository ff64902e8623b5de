//! Cluster timings against a real NATS JetStream server: several nodes in one process (each its
//! own store and home, its own cluster service and enrollment committer, as `vigil serve` wires
//! them), measuring how long an agent enrolled on one node takes to be usable on the others,
//! how long a ruleset file changed through one node takes to reach the others, and how long
//! 1,000 enrollments spread over the nodes take, with no id or name given twice.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::cluster::Cluster;
use crate::config::{self, Auth, Secret};
use crate::enroll::commit::Committer;
use crate::enroll::policy::Policy;
use crate::enroll::request::{Expect, parse};
use crate::store::Store;

/// What one run measured.
#[derive(Debug, Clone)]
pub struct ClusterRun {
    /// Enrollment on one node to the key in every other node's store, sorted.
    pub key_visible: Vec<Duration>,
    /// A shared file stored through one node to its arrival on every other node, sorted.
    pub file_visible: Vec<Duration>,
    /// Enrollments admitted out of a burst spread over the nodes at once (a tenth of the
    /// requests repeat a name another node is asked for), and how long the burst took.
    pub burst: (usize, Duration),
    /// Until every node held every agent of the burst.
    pub converged: Duration,
    /// Ids and names given twice in the burst (must be 0).
    pub duplicates: usize,
}

struct Node {
    store: Store,
    home: PathBuf,
    cluster: Arc<Cluster>,
    committer: Committer,
}

fn node(root: &Path, name: &str, cluster_name: &str, url: &str) -> anyhow::Result<Node> {
    let home = root.join(name);
    std::fs::create_dir_all(home.join("etc/shared/default"))?;
    let store = Store::open(&home.join("db"))?;
    let settings = config::Cluster {
        disabled: false,
        name: cluster_name.to_owned(),
        node_name: name.to_owned(),
        key: Some(Secret::from("0123456789abcdef0123456789abcdef".to_owned())),
        nats: config::Nats { urls: vec![url.to_owned()], ..Default::default() },
        ..Default::default()
    };
    let wiring = crate::cluster::Wiring {
        store: store.clone(),
        changed: Arc::new(|| {}),
        load: Arc::new(Default::default),
        address: "127.0.0.1".into(),
        commands: None,
        reload: None,
    };
    let cluster = Cluster::start(&settings, &home, wiring)?;
    let policy = Policy::new(&Auth::default(), &home, "manager".into());
    let committer = Committer::spawn(store.clone(), policy, Some(Arc::clone(&cluster)), || {})?;
    Ok(Node { store, home, cluster, committer })
}

async fn enroll(node: &Node, name: &str) -> anyhow::Result<u32> {
    let request = parse(format!("OSSEC A:'{name}'").as_bytes(), &Expect::default()).map_err(anyhow::Error::msg)?;
    let enrolled = node.committer.submit(request, IpAddr::V4(Ipv4Addr::LOCALHOST)).await?;
    Ok(enrolled.agent.id.get())
}

async fn until(limit: Duration, mut done: impl FnMut() -> bool) -> anyhow::Result<Duration> {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > limit {
            bail!("not reached within {limit:?}");
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    Ok(start.elapsed())
}

/// Runs `samples` propagation measurements and a burst of `burst` enrollments over `nodes`
/// nodes under `root`, against the NATS server at `url`.
pub fn run(root: &Path, url: &str, nodes: usize, samples: usize, burst: usize) -> anyhow::Result<ClusterRun> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let _entered = runtime.enter();
    let cluster_name = format!("bench{}", std::process::id());
    let nodes: Vec<Node> =
        (0..nodes.max(2)).map(|i| node(root, &format!("node{i}"), &cluster_name, url)).collect::<Result<_, _>>()?;
    runtime.block_on(async {
        until(Duration::from_secs(15), || nodes.iter().all(|n| n.cluster.connected() && n.cluster.can_share().is_ok()))
            .await
            .context("nodes could not reach NATS")?;
        let mut key_visible = Vec::with_capacity(samples);
        for i in 0..samples {
            let origin = &nodes[i % nodes.len()];
            let start = Instant::now();
            let id = enroll(origin, &format!("probe{i}")).await?;
            let id = crate::store::AgentId::new(id).context("id")?;
            until(Duration::from_secs(10), || nodes.iter().all(|n| n.store.agent(id).ok().flatten().is_some())).await?;
            key_visible.push(start.elapsed());
        }
        let mut file_visible = Vec::with_capacity(samples);
        for i in 0..samples {
            let origin = &nodes[i % nodes.len()];
            let text = format!("<!-- change {i} -->\n");
            let start = Instant::now();
            origin.cluster.share_file("etc/rules/bench_rules.xml", Some(text.as_bytes())).await?;
            let arrived =
                |n: &Node| std::fs::read_to_string(n.home.join("etc/rules/bench_rules.xml")).is_ok_and(|t| t == text);
            until(Duration::from_secs(10), || nodes.iter().all(arrived)).await?;
            file_visible.push(start.elapsed());
        }
        let start = Instant::now();
        // A tenth more requests than names, on other nodes: each name may be given once.
        let tasks: Vec<_> = (0..burst + burst / 10)
            .map(|i| {
                let committer = nodes[i % nodes.len()].committer.clone();
                let name = format!("agent{}", i % burst.max(1));
                tokio::spawn(async move {
                    let request = parse(format!("OSSEC A:'{name}'").as_bytes(), &Expect::default()).ok()?;
                    committer
                        .submit(request, IpAddr::V4(Ipv4Addr::LOCALHOST))
                        .await
                        .ok()
                        .map(|e| (e.agent.id.get(), name))
                })
            })
            .collect();
        let mut enrolled = Vec::new();
        for task in tasks {
            if let Some(done) = task.await? {
                enrolled.push(done);
            }
        }
        let took = start.elapsed();
        let ids: HashSet<u32> = enrolled.iter().map(|(id, _)| *id).collect();
        let names: HashSet<&String> = enrolled.iter().map(|(_, name)| name).collect();
        let duplicates = (enrolled.len() - ids.len()) + (enrolled.len() - names.len());
        let expected = samples + enrolled.len();
        let converged = until(Duration::from_secs(30), || {
            nodes.iter().all(|n| n.store.agents().map_or(0, |a| a.len()) == expected)
        })
        .await
        .context("the nodes did not converge")?;
        key_visible.sort();
        file_visible.sort();
        Ok(ClusterRun {
            key_visible,
            file_visible,
            burst: (enrolled.len(), took),
            converged: took + converged,
            duplicates,
        })
    })
}
