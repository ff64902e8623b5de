//! `vigil serve`: the server lifecycle.
//!
//! Start-up checks the home (refusing a read-only one or a regular file), lays out what is
//! missing, reads the config (refusing to start on any error, as Wazuh does), starts logging,
//! takes the pid file, loads the ruleset into the engine and opens the agent store. Shutdown on SIGTERM or SIGINT: every service
//! gets the stop signal and at most [`SHUTDOWN_GRACE`] to finish.

pub mod keys_file;
mod pidfile;
pub mod queue;
pub mod state_files;

use std::os::unix::net::{UnixDatagram, UnixListener};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

use crate::config::{self, Severity};
use crate::engine::Engine;
use crate::home::Home;
use crate::logging;
use crate::logtest::{Logtest, Settings, socket};
pub use pidfile::{PidError, PidFile};

/// How long services may take to stop after SIGTERM.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Current time, Unix seconds.
pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Raises this process's open-file limit towards `wanted` (within the hard limit); returns the
/// limit in force.
pub fn raise_open_files(wanted: u64) -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let soft = wanted.min(limit.maximum.unwrap_or(u64::MAX));
    if limit.current.is_some_and(|current| current < soft) {
        // Refusal leaves the old limit, which the caller sees in the answer.
        let _ = setrlimit(Resource::Nofile, Rlimit { current: Some(soft), maximum: limit.maximum });
    }
    getrlimit(Resource::Nofile).current.unwrap_or(0)
}

/// Runs the server on `home` until SIGTERM or SIGINT.
pub fn serve(home: &Home, debug: bool) -> anyhow::Result<()> {
    home.check_usable()?;
    let prepared = home.prepare(now()).with_context(|| format!("cannot prepare home {}", home.root().display()))?;
    let config_file = home.config_file();
    let loaded = config::load(&config_file);
    logging::init(&home.path("logs"), loaded.config.logging, debug).context("cannot open the log files")?;
    for problem in &loaded.problems {
        match problem.severity {
            Severity::Error => {
                error!(file = %problem.file.display(), line = problem.line, "{}", problem.message)
            }
            Severity::Warning => {
                warn!(file = %problem.file.display(), line = problem.line, "{}", problem.message)
            }
        }
    }
    if loaded.errors().next().is_some() {
        error!("Configuration error at '{}'. Exiting.", config_file.display());
        bail!(
            "configuration error at '{}' (run `vigil config check --home {}`)",
            config_file.display(),
            home.root().display()
        );
    }
    if prepared.new_home {
        info!(home = %home.root().display(), "Created a new home with the default configuration");
    }
    if prepared.certificate {
        info!("Generated a self-signed TLS certificate (ECDSA P-256)");
    }
    let _pid = PidFile::acquire(&home.pid_file())?;
    // Every agent holds a socket: take what the hard limit allows (Wazuh's rlimit_nofile).
    let open_files = raise_open_files(u64::MAX);
    info!(open_files, "Open-file limit raised to the hard limit: it caps how many agents can connect at once");
    let engine = load_engine(home, &loaded.config).map(|(engine, warnings)| (Arc::new(engine), warnings));
    let logtest_socket = home.path(LOGTEST_SOCKET);
    let queue_socket = home.path(QUEUE_SOCKET);
    let store = home.store()?;
    if let Some((engine, warnings)) = &engine {
        start_logtest(&loaded.config, Arc::clone(engine), warnings.clone(), &logtest_socket);
        let sink = start_queue(home, &loaded.config, Arc::clone(engine), &queue_socket)?;
        start_remote(home, &loaded.config, &store, &sink);
    }
    let agents = store.agents()?.len();
    let groups = store.groups()?.len();
    let keys_file = keys_file::KeysFile::spawn(store.clone(), home.client_keys(), keys_file::WINDOW)?;

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("vigil-control").build()?;
    {
        let _entered = runtime.enter();
        start_enrollment(home, &loaded.config.auth, store, keys_file);
    }
    info!(version = env!("CARGO_PKG_VERSION"), agents, groups, home = %home.root().display(), "Started");
    let signal_name = runtime.block_on(wait_for_stop())?;
    info!(signal = signal_name, "Stopping");
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    // Clients must not find a socket nobody answers.
    let _ = std::fs::remove_file(&logtest_socket);
    let _ = std::fs::remove_file(&queue_socket);
    let _ = std::fs::remove_file(home.path(REMOTE_SOCKET));
    let _ = std::fs::remove_file(home.path(AR_QUEUE));
    info!("Stopped");
    Ok(())
}

/// Starts authd's service when `<auth>` asks for it; client.keys follows each enrollment.
/// Like Wazuh's daemons, the other services run on when it cannot start (the error is logged).
fn start_enrollment(home: &Home, auth: &config::Auth, store: crate::store::Store, keys_file: keys_file::KeysFile) {
    if auth.disabled || !auth.remote_enrollment {
        info!("Enrollment service disabled (no <auth> block, or <disabled>/<remote_enrollment> say so)");
        return;
    }
    let started = crate::enroll::Settings::from_config(auth, home.root(), crate::home::hostname())
        .and_then(|settings| crate::enroll::start(settings, store, move || keys_file.notify()));
    if let Err(e) = started {
        error!("Enrollment service not started: {e}");
    }
}

/// Where logtest clients connect.
pub const LOGTEST_SOCKET: &str = "queue/sockets/logtest";

/// Where local tools send events.
pub const QUEUE_SOCKET: &str = "queue/sockets/queue";

/// Where local tools send requests to agents and ask remoted's statistics.
pub const REMOTE_SOCKET: &str = "queue/sockets/remote";

/// Where active responses and raw control messages for agents are left.
pub const AR_QUEUE: &str = "queue/alerts/ar";

/// Starts the agent connection service on the `<remote>` secure listener, if there is one, with
/// its local request socket and its state files.
/// Like Wazuh's daemons, the other services run on when it cannot start (the error is logged).
/// Agents connected before this start are disconnected now (as remoted's start does), and a
/// sweep disconnects agents that go silent.
fn start_remote(home: &Home, config: &config::Config, store: &crate::store::Store, sink: &Arc<queue::Sink>) {
    use crate::remote::{ar_queue, local, monitor, service};
    match monitor::reset(store, now()) {
        Ok(0) => {}
        Ok(n) => info!("{n} agents connected before this start are now disconnected"),
        Err(e) => error!("cannot reset agent status: {e}"),
    }
    if let Err(e) = monitor::spawn(store.clone(), Arc::clone(sink), config.global.agents_disconnection_time) {
        error!("cannot start the agent disconnection sweep: {e}");
    }
    let Some(settings) = service::Settings::from_config(config, home.root()) else {
        info!("Agent connection service disabled: no <remote> listener to serve");
        return;
    };
    // analysisd rewrites the active-response list at every start; merged files carry it.
    let ar_conf = settings.shared_dir.join(crate::remote::shared::AR_CONF);
    if let Err(e) = Home::write_atomic(&ar_conf, crate::remote::shared::ar_conf(config).as_bytes(), 0o640) {
        error!("cannot write {}: {e}", ar_conf.display());
    }
    let service = match service::start(&settings, store, sink) {
        Ok(service) => service,
        Err(e) => return error!("Agent connection service not started: {e}"),
    };
    if let Err(e) = state_files::spawn(home.path("var/run"), Arc::clone(&service.stats), Arc::clone(sink)) {
        error!("cannot start the state file writer: {e}");
    }
    let commands = Arc::clone(&service.commands);
    serve_socket(
        &home.path(AR_QUEUE),
        "vigil-ar-queue",
        |p| UnixDatagram::bind(p),
        move |socket| ar_queue::serve(socket, commands),
    );
    let local = Arc::new(local::Local::new(service.commands, service.stats));
    serve_socket(
        &home.path(REMOTE_SOCKET),
        "vigil-remote-local",
        |p| UnixListener::bind(p),
        move |listener| local::serve(listener, local),
    );
}

/// Binds a local socket at `path` with `bind` and serves it with `serve` on a thread named
/// `thread`; a failure is logged and the other services run on.
fn serve_socket<S: Send + 'static>(
    path: &std::path::Path,
    thread: &str,
    bind: impl FnOnce(&std::path::Path) -> std::io::Result<S>,
    serve: impl FnOnce(S) + Send + 'static,
) {
    let started = crate::home::bind_socket(path, bind)
        .and_then(|socket| std::thread::Builder::new().name(thread.into()).spawn(move || serve(socket)));
    if let Err(e) = started {
        error!("Unable to bind to socket '{}': {e}", path.display());
    }
}

/// Opens the alert and archive files and reads `queue/sockets/queue` on its own thread; the
/// returned sink is where every input's events go.
fn start_queue(
    home: &Home,
    config: &config::Config,
    engine: Arc<Engine>,
    path: &std::path::Path,
) -> anyhow::Result<Arc<queue::Sink>> {
    let sink = Arc::new(queue::Sink::open(home, config, engine)?);
    let socket = queue::bind(path).with_context(|| format!("cannot bind {}", path.display()))?;
    let queue_sink = Arc::clone(&sink);
    std::thread::Builder::new().name("vigil-queue".into()).spawn(move || queue::serve(socket, queue_sink))?;
    Ok(sink)
}

/// Serves wazuh-logtest's socket (unless `<rule_test>` disables it) on its own thread.
fn start_logtest(config: &config::Config, engine: Arc<Engine>, warnings: Vec<String>, path: &std::path::Path) {
    if !config.rule_test.enabled {
        info!("(7201): Logtest disabled");
        return;
    }
    let settings = Settings::from_config(config, &crate::home::hostname());
    let service = Arc::new(Logtest::new(engine, settings, warnings));
    let listener = match socket::bind(path) {
        Ok(l) => l,
        Err(e) => {
            error!("(7300): Unable to bind to socket '{}'. {e}", path.display());
            return;
        }
    };
    let spawned =
        std::thread::Builder::new().name("vigil-logtest".into()).spawn(move || socket::serve(listener, service));
    match spawned {
        Ok(_) => info!("(7200): Logtest started"),
        Err(e) => error!("cannot start the logtest service: {e}"),
    }
}

/// Loads the ruleset and compiles the engine; problems are logged and the broken items skipped,
/// as analysisd skips them. The problems' texts come back too, for logtest sessions.
fn load_engine(home: &Home, config: &config::Config) -> Option<(Engine, Vec<String>)> {
    let (ruleset, problems) = crate::ruleset::load(home.root(), &config.ruleset, &config.alerts);
    let messages = problems.iter().map(|p| p.message.clone()).collect();
    for p in &problems {
        if p.warning {
            warn!(file = %p.file, line = p.line, "{}", p.message);
        } else {
            error!(file = %p.file, line = p.line, "{}", p.message);
        }
    }
    let (decoders, rules, lists) = (ruleset.decoders.len(), ruleset.rules.len(), ruleset.files.lists.len());
    match Engine::with_best_prefilter(ruleset, &crate::home::hostname()) {
        Ok(mut engine) => {
            engine.set_limits(crate::engine::correlate::Limits::from_config(&config.global));
            info!(
                decoders,
                rules,
                lists,
                prefilter = engine.prefilter().map_or("none", |p| p.engine()),
                "Ruleset loaded"
            );
            Some((engine, messages))
        }
        Err(e) => {
            error!("{e}");
            None
        }
    }
}

/// Waits for SIGTERM or SIGINT and names it.
async fn wait_for_stop() -> std::io::Result<&'static str> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}
