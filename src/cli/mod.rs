//! The command line (clap): `serve`, `config check`, `ruleset …`, `logtest`, `bench`, `agents …`,
//! `lists …`, `cluster …`, `status`.

mod agents;
mod bench;
mod cluster;
mod config_check;
pub mod enroll;
mod lists;
pub mod logtest;
mod ruleset_check;
mod status;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::home::{DEFAULT_HOME, Home};

/// vigil: a Wazuh-compatible security server.
#[derive(Debug, Parser)]
#[command(name = "vigil", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The home directory option shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct HomeArg {
    /// Home directory, shaped like /var/ossec (created on first `serve`).
    #[arg(long, env = "VIGIL_HOME", default_value = DEFAULT_HOME, global = true)]
    pub home: PathBuf,
}

impl HomeArg {
    fn home(&self) -> Home {
        Home::new(&self.home)
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server in the foreground until SIGTERM or SIGINT.
    Serve {
        /// Home directory.
        #[command(flatten)]
        home: HomeArg,
        /// Log at debug level (like Wazuh's -d).
        #[arg(short, long)]
        debug: bool,
        /// Check the home, configuration, ruleset and ports, then exit without serving
        /// (systemd's ExecStartPre=).
        #[arg(long)]
        check: bool,
    },
    /// Inspect the configuration.
    Config {
        /// What to do with it.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Test logs against the ruleset, as wazuh-logtest does (same options and exit codes).
    #[command(disable_version_flag = true)]
    Logtest {
        /// Home directory.
        #[command(flatten)]
        home: HomeArg,
        /// wazuh-logtest's options.
        #[command(flatten)]
        args: logtest::LogtestArgs,
    },
    /// Measure the engine on the home's ruleset.
    Bench {
        /// What to measure.
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Inspect the ruleset.
    Ruleset {
        /// What to do with it.
        #[command(subcommand)]
        command: RulesetCommand,
    },
    /// Enroll with a manager as Wazuh's agent-auth does (same short options); prints the
    /// client.keys line or writes it with --keys.
    Enroll(enroll::EnrollArgs),
    /// Manage registered agents.
    Agents {
        /// What to do with them.
        #[command(subcommand)]
        command: agents::AgentsCommand,
    },
    /// Manage CDB lists (threat intelligence).
    Lists {
        /// What to do with them.
        #[command(subcommand)]
        command: lists::ListsCommand,
    },
    /// One screen on the home's server: whether it runs, agents by status, events and alerts
    /// per second, connections, the alert log, shipping lag, the cluster (exit 3: not running).
    Status {
        /// Home directory.
        #[command(flatten)]
        home: HomeArg,
    },
    /// Inspect the cluster (read from NATS).
    Cluster {
        /// What to look at.
        #[command(subcommand)]
        command: cluster::ClusterCommand,
    },
}

/// `vigil config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Read ossec.conf and print what was understood and every problem with file and line.
    Check {
        /// Home directory.
        #[command(flatten)]
        home: HomeArg,
        /// Check this file instead of the home's etc/ossec.conf.
        #[arg(short = 'c', long = "config")]
        file: Option<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `vigil bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Full pipeline events/s with one and two threads, and the ruleset's memory.
    Engine {
        /// Home directory.
        #[command(flatten)]
        home: HomeArg,
        /// Events per corpus.
        #[arg(long, default_value_t = 200_000)]
        events: usize,
    },
    /// Events/s end to end from simulated agents over TCP (frames in, alerts.json out) on a
    /// fresh temporary home (removed afterwards); fails when an event is lost.
    Agents {
        /// Agents connected at once.
        #[arg(long, default_value_t = 1000)]
        agents: usize,
        /// Events in all.
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Force the epoll driver instead of io_uring.
        #[arg(long)]
        poll: bool,
    },
    /// Many idle agents against a real `vigil serve` child on a temporary home: keepalive ack
    /// latency and the server's resident memory.
    Keepalives {
        /// Agents connected at once.
        #[arg(long, default_value_t = 10_000)]
        agents: usize,
        /// Keepalive rounds.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Seconds each round's keepalives are spread over (agents send one every 20 s).
        #[arg(long, default_value_t = 20)]
        spread: u64,
    },
    /// The REST API over HTTPS on loopback with many agents in the store, on a fresh temporary
    /// home (removed afterwards): list and summary latency, and requests/s.
    Api {
        /// Agents in the store.
        #[arg(long, default_value_t = 50_000)]
        agents: usize,
        /// Seconds of the throughput run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Keep-alive connections of the throughput run.
        #[arg(long, default_value_t = 16)]
        connections: usize,
    },
    /// FIM events and inventory deltas per second into the state store (one thread), and the
    /// time to store a 5,000-package inventory snapshot, on a fresh temporary home.
    Modules {
        /// Messages of each kind.
        #[arg(long, default_value_t = 200_000)]
        messages: usize,
    },
    /// Alerts/s each integration delivers to a receiver that keeps up, and whether the engine
    /// keeps a fixed input rate with every integration enabled against slow and hanging ones.
    Integrations {
        /// Alerts each integration delivers in the throughput runs.
        #[arg(long, default_value_t = 20_000)]
        alerts: u64,
        /// Events/s offered to the engine in the isolation runs.
        #[arg(long, default_value_t = 20_000)]
        rate: u64,
        /// Seconds of each isolation run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Alerts/s the indexer shipper sends from the alert log: to an endpoint in this process
    /// that accepts every `_bulk` at once (without and with gzip level 1), or to `--url`.
    Indexer {
        /// Alerts in the log.
        #[arg(long, default_value_t = 200_000)]
        alerts: u64,
        /// An OpenSearch to ship to instead (http://host:port).
        #[arg(long)]
        url: Option<String>,
        /// With --url: alerts/s for the time-to-searchable run (0: no such run).
        #[arg(long, default_value_t = 0)]
        rate: u64,
        /// Seconds of the time-to-searchable run.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
    /// Enrollments/s over TLS on loopback, on a fresh temporary home (removed afterwards):
    /// clients reuse nothing between enrollments.
    Enroll {
        /// Enrollments in all.
        #[arg(long, default_value_t = 20_000)]
        enrollments: usize,
        /// Clients at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
    /// Cluster timings against a running NATS JetStream server, with several nodes in this
    /// process: enrollment to key usable on every node, shared file to every node (p50/p99), and
    /// a burst of enrollments spread over the nodes.
    Cluster {
        /// The NATS server.
        #[arg(long, default_value = "nats://127.0.0.1:4222")]
        nats: String,
        /// Nodes.
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        /// Propagation measurements of each kind.
        #[arg(long, default_value_t = 200)]
        samples: usize,
        /// Enrollments in the burst.
        #[arg(long, default_value_t = 1000)]
        burst: usize,
    },
}

/// `vigil ruleset …`.
#[derive(Debug, Subcommand)]
pub enum RulesetCommand {
    /// Load the home's decoders, rules and lists; print counts and every problem with file:line.
    Check {
        /// Home directory.
        #[command(flatten)]
        home: HomeArg,
    },
    /// Install Wazuh's stock ruleset (a ruleset directory, a Wazuh source tree or a release
    /// tarball) in place of vigil's default one.
    ImportWazuh {
        /// Home directory.
        #[command(flatten)]
        home: HomeArg,
        /// The ruleset directory, source tree or `.tar.gz`.
        source: PathBuf,
    },
}

/// Runs a parsed command line; the exit code follows.
pub fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    match cli.command {
        Command::Serve { home, check: true, .. } => Ok(crate::server::check::run(&home.home())),
        Command::Serve { home, debug, check: false } => match crate::server::serve(&home.home(), debug)? {
            crate::server::Stopped::Exit => Ok(std::process::ExitCode::SUCCESS),
            crate::server::Stopped::Restart => restart_in_place(),
        },
        Command::Config { command: ConfigCommand::Check { home, file, json } } => {
            let path = file.unwrap_or_else(|| home.home().config_file());
            Ok(config_check::run(&path, json))
        }
        Command::Ruleset { command: RulesetCommand::Check { home } } => Ok(ruleset_check::run(&home.home())),
        Command::Ruleset { command: RulesetCommand::ImportWazuh { home, source } } => {
            let home = home.home();
            home.prepare(crate::server::now())?;
            let done = crate::ruleset::import::import(&home, &source)?;
            println!(
                "installed {} decoder files, {} rule files and {} list files; {} files of the previous ruleset moved to ruleset/disabled/{}",
                done.decoders,
                done.rules,
                done.lists,
                done.disabled,
                if done.config_updated { "; etc/ossec.conf now lists Wazuh's default lists" } else { "" }
            );
            Ok(ruleset_check::run(&home))
        }
        Command::Logtest { home, args } => logtest::run(&home.home(), &args),
        Command::Bench { command: BenchCommand::Engine { home, events } } => bench::run(&home.home(), events),
        Command::Bench { command: BenchCommand::Enroll { enrollments, concurrency } } => {
            bench::enroll(enrollments, concurrency)
        }
        Command::Bench { command: BenchCommand::Cluster { nats, nodes, samples, burst } } => {
            bench::cluster(&nats, nodes, samples, burst)
        }
        Command::Bench { command: BenchCommand::Agents { agents, events, poll } } => {
            bench::agents(agents, events, poll)
        }
        Command::Bench { command: BenchCommand::Modules { messages } } => bench::modules(messages),
        Command::Bench { command: BenchCommand::Integrations { alerts, rate, seconds } } => {
            bench::integrations(alerts, rate, seconds)
        }
        Command::Bench { command: BenchCommand::Indexer { alerts, url, rate, seconds } } => {
            bench::indexer(alerts, url, rate, seconds)
        }
        Command::Bench { command: BenchCommand::Api { agents, seconds, connections } } => {
            bench::api(agents, seconds, connections)
        }
        Command::Bench { command: BenchCommand::Keepalives { agents, rounds, spread } } => {
            bench::keepalives(agents, rounds, spread)
        }
        Command::Enroll(args) => enroll::run(&args),
        Command::Agents { command } => agents::run(command).map(|()| std::process::ExitCode::SUCCESS),
        Command::Lists { command } => lists::run(command).map(|()| std::process::ExitCode::SUCCESS),
        Command::Cluster { command } => cluster::run(command),
        Command::Status { home } => status::run(&home.home()),
    }
}

/// Replaces this process with a fresh `vigil` run with the same arguments (same pid, so a
/// service manager keeps tracking it); only returns if that fails.
fn restart_in_place() -> anyhow::Result<std::process::ExitCode> {
    use std::os::unix::process::CommandExt as _;
    let exe = std::env::current_exe()?;
    let error = std::process::Command::new(exe).args(std::env::args_os().skip(1)).exec();
    Err(anyhow::anyhow!("cannot restart: {error}"))
}
