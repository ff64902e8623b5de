//! `vigil cluster status`: the cluster as NATS holds it, read directly, so it answers with this
//! node stopped too.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use async_nats::jetstream;
use clap::Subcommand;
use futures_util::TryStreamExt;

use super::HomeArg;
use crate::cluster::{bucket, connect, members};

/// How long the command waits for NATS.
const TIMEOUT: Duration = Duration::from_secs(5);

/// `vigil cluster …`.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// The nodes alive (the master holds the leader lease) and the agents registered.
    Status {
        /// Home directory.
        #[command(flatten)]
        home: HomeArg,
    },
}

/// Runs `command`: success when the cluster could be read.
pub fn run(command: ClusterCommand) -> anyhow::Result<ExitCode> {
    let ClusterCommand::Status { home } = command;
    let home = home.home();
    let loaded = crate::config::load(&home.config_file());
    if loaded.errors().next().is_some() {
        bail!("configuration errors: run `vigil config check --home {}`", home.root().display());
    }
    let config = loaded.config.cluster;
    if config.disabled {
        println!("Cluster: disabled (no <cluster> block, or <disabled>yes)");
        return Ok(ExitCode::FAILURE);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let text =
        runtime.block_on(async {
            let options = connect::options(&config, home.root(), false, None)?;
            let client = tokio::time::timeout(TIMEOUT, options.connect(connect::addresses(&config.nats.urls)?))
                .await
                .context("NATS did not answer in time")?
                .context("cannot connect to NATS")?;
            let js = jetstream::new(client);
            let open = |what: &'static str| {
                let js = js.clone();
                let name = bucket(&config.name, what);
                async move {
                    js.get_key_value(&name).await.with_context(|| format!("bucket {name} (has any node started?)"))
                }
            };
            let (nodes, lease, agents) = (open("nodes").await?, open("lease").await?, open("agents").await?);
            let leader = members::holder(&lease).await.map_err(anyhow::Error::msg)?;
            let list = members::list(&nodes, leader.as_deref(), &|key, e| eprintln!("heartbeat {key} ignored: {e}"))
                .await
                .map_err(anyhow::Error::msg)?;
            let registered = agents
                .keys()
                .await?
                .try_fold(0usize, |n, key| std::future::ready(Ok(n + usize::from(key.starts_with("agent.")))))
                .await?;
            anyhow::Ok(render(&config.name, &list, registered))
        })?;
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn render(cluster: &str, list: &[members::Member], registered: usize) -> String {
    let now = crate::server::now();
    let mut out = format!("Cluster {cluster}: {} node(s) alive, {registered} agent(s) registered\n", list.len());
    out.push_str(&format!(
        "{:<20} {:<7} {:<16} {:<9} {:>7} {:>7} {:>9}\n",
        "NODE", "TYPE", "ADDRESS", "VERSION", "AGENTS", "EPS", "SEEN"
    ));
    for m in list {
        let kind = if m.leader { "master" } else { "worker" };
        let i = &m.info;
        let seen = format!("{}s ago", now.saturating_sub(i.seen).max(0));
        out.push_str(&format!(
            "{:<20} {kind:<7} {:<16} {:<9} {:>7} {:>7} {seen:>9}\n",
            i.name, i.address, i.version, i.agents, i.eps
        ));
    }
    out
}
