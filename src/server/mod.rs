//! `vigil serve`: the server lifecycle.
//!
//! Start-up checks the home (refusing a read-only one or a regular file), lays out what is
//! missing, reads the config (refusing to start on any error, as Wazuh does), starts logging,
//! takes the pid file, loads the ruleset into the engine and opens the agent store. Shutdown on SIGTERM or SIGINT: every service
//! gets the stop signal and at most [`SHUTDOWN_GRACE`] to finish.

pub mod check;
pub mod keys_file;
pub mod modules;
pub mod notify;
pub mod pidfile;
pub mod queue;
pub mod state_files;

use std::os::unix::net::{UnixDatagram, UnixListener};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

use crate::cluster::members::Load;
use crate::config::{self, Severity};
use crate::engine::live::{self, Live};
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

/// Current time, Unix milliseconds.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
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

/// Why the server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// SIGTERM or SIGINT.
    Exit,
    /// A restart was asked for (`PUT /manager/restart`): the caller starts it again.
    Restart,
}

/// Runs the server on `home` until SIGTERM, SIGINT or a restart request.
pub fn serve(home: &Home, debug: bool) -> anyhow::Result<Stopped> {
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
    let engine = load_engine(home, &loaded.config);
    let logtest_socket = home.path(LOGTEST_SOCKET);
    let queue_socket = home.path(QUEUE_SOCKET);
    let store = home.store()?;
    spawn_state_sync(store.state().clone());
    let store_for_stop = store.clone();
    let restart = Arc::new(tokio::sync::Notify::new());
    let mut services = crate::api::Services { restart: Some(Arc::clone(&restart)), ..Default::default() };
    let mut beats = None;
    if let Some(engine) = &engine {
        services.engine = Some(Arc::clone(engine));
        if let Err(e) = crate::engine::watch::spawn(home.root(), &loaded.config, Arc::clone(engine)) {
            error!("cannot watch the CDB lists: {e}");
        }
        services.logtest = start_logtest(&loaded.config, Arc::clone(engine), &logtest_socket);
        let sink = start_queue(home, &loaded.config, Arc::clone(engine), &queue_socket, &store)?;
        if let Some(remote) = start_remote(home, &loaded.config, &store, &sink) {
            beats = Some(remote.beats);
            services.commands = Some(remote.commands);
            services.remote_stats = Some(remote.stats);
            services.shared = Some(remote.shared);
        }
        start_readers(home, &loaded.config, &store, &sink, services.commands.clone());
        services.sink = Some(sink);
    }
    let sink_for_stop = services.sink.clone();
    let agents = store.agents()?.len();
    let groups = store.groups()?.len();
    let keys_file = keys_file::KeysFile::spawn(store.clone(), home.client_keys(), keys_file::WINDOW)?;
    services.keys_file = Some(keys_file.clone());

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("vigil-control").build()?;
    {
        let _entered = runtime.enter();
        let cluster = start_cluster(
            home,
            &loaded.config,
            &store,
            &keys_file,
            services.sink.clone(),
            services.commands.clone(),
            services.engine.clone(),
        )?;
        services.cluster.clone_from(&cluster);
        services.enrollment = start_enrollment(home, &loaded.config.auth, store.clone(), cluster, keys_file);
        start_api(home, Arc::new(loaded.config.clone()), store, services);
    }
    info!(version = env!("CARGO_PKG_VERSION"), agents, groups, home = %home.root().display(), "Started");
    let notifier = notify_systemd(&store_for_stop, sink_for_stop.clone(), beats);
    let (signal_name, stopped) = runtime.block_on(wait_for_stop(&restart, home, engine))?;
    info!(signal = signal_name, "Stopping");
    if let Some(notifier) = &notifier {
        notifier.send("STOPPING=1");
    }
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    // Clients must not find a socket nobody answers.
    let _ = std::fs::remove_file(&logtest_socket);
    let _ = std::fs::remove_file(&queue_socket);
    let _ = std::fs::remove_file(home.path(REMOTE_SOCKET));
    let _ = std::fs::remove_file(home.path(AR_QUEUE));
    if let Some(sink) = sink_for_stop {
        if let Some(Some(ar)) = sink.active_response.get() {
            ar.execd.stop(SHUTDOWN_GRACE);
        }
        // Everything analysed is in the log before the process goes.
        sink.log.stop();
    }
    if let Err(e) = store_for_stop.state().sync() {
        error!("cannot flush the module state: {e}");
    }
    info!("Stopped");
    Ok(stopped)
}

/// Tells systemd (when it started vigil with `Type=notify`) that the server is ready, then keeps
/// its status line current and pings its watchdog while every data-plane core beats.
fn notify_systemd(
    store: &crate::store::Store,
    sink: Option<Arc<queue::Sink>>,
    beats: Option<Arc<crate::remote::beats::Beats>>,
) -> Option<Arc<notify::Notifier>> {
    let notifier = Arc::new(notify::Notifier::from_env()?);
    let load = load_meter(store, sink);
    let status = move || {
        let Load { agents, eps } = load();
        format!("{agents} agents active, {eps} events/s")
    };
    let first = status();
    let health = move || match beats.as_ref().map(|b| b.silent(CORE_SILENCE)).unwrap_or_default() {
        silent if silent.is_empty() => Ok(status()),
        silent => Err(format!("data-plane core(s) {silent:?} silent for over {} s", CORE_SILENCE.as_secs())),
    };
    if let Err(e) = notifier.serve(first, health) {
        error!("cannot keep systemd informed: {e}");
    }
    Some(notifier)
}

/// This node's load as it is read now: agents active here, and events analysed per second since
/// the reading before (each meter keeps its own).
fn load_meter(
    store: &crate::store::Store,
    sink: Option<Arc<queue::Sink>>,
) -> impl Fn() -> Load + Send + Sync + 'static {
    let store = store.clone();
    let rate = crate::metrics::Rate::default();
    move || {
        // Status::ALL's order: the third count is the active agents.
        let agents = store.status_counts().map_or(0, |(counts, _)| counts[2] as u64);
        let events = sink.as_ref().map_or(0, |s| s.log.counts().events.load(std::sync::atomic::Ordering::Relaxed));
        Load { agents, eps: rate.sample(events) }
    }
}

/// A data-plane core silent this long (it beats every second) is stuck.
const CORE_SILENCE: Duration = Duration::from_secs(5);

/// Starts the readers of the alert log: the indexer shipper (when `<indexer>` asks for it), the
/// integrations (their results fed back through `sink`), active response (to agents through
/// `commands`), and the compression of finished log files, which waits for all of them. Like
/// Wazuh's daemons, the other services run on when one cannot start (the error is logged).
fn start_readers(
    home: &Home,
    config: &config::Config,
    store: &crate::store::Store,
    sink: &Arc<queue::Sink>,
    commands: Option<Arc<crate::remote::commands::Commands>>,
) {
    let consumers = Arc::new(crate::output::consumers::Consumers::new(Some(store.clone())));
    match crate::indexer::start(home.root(), config, &consumers) {
        Ok(stats) => {
            let _ = sink.shipping.set(stats);
        }
        Err(e) => error!("Indexer shipping not started: {e:#}"),
    }
    let fed = Arc::clone(sink);
    let inject: crate::integrations::inject::Injector = Arc::new(move |message: &[u8]| fed.handle(message));
    let _ = sink.integrations.set(crate::integrations::start(home.root(), config, &consumers, Some(inject)));
    match crate::active_response::start(home.root(), config, &consumers, commands, store.clone()) {
        Ok(stats) => {
            let _ = sink.active_response.set(stats);
        }
        Err(e) => error!("Active response not started: {e:#}"),
    }
    match crate::email::start(home.root(), config, &consumers) {
        Ok(stats) => {
            let _ = sink.email.set(stats);
        }
        Err(e) => error!("E-mail notification not started: {e:#}"),
    }
    let streams = crate::output::writer::streams(&home.path("logs")).to_vec();
    if let Err(e) = crate::output::compress::spawn(streams, consumers) {
        error!("cannot start the log compression: {e}");
    }
}

/// Starts authd's service when `<auth>` asks for it; client.keys follows each enrollment.
/// Like Wazuh's daemons, the other services run on when it cannot start (the error is logged).
/// Whether it runs comes back.
fn start_enrollment(
    home: &Home,
    auth: &config::Auth,
    store: crate::store::Store,
    cluster: Option<Arc<crate::cluster::Cluster>>,
    keys_file: keys_file::KeysFile,
) -> bool {
    if auth.disabled || !auth.remote_enrollment {
        info!("Enrollment service disabled (no <auth> block, or <disabled>/<remote_enrollment> say so)");
        return false;
    }
    let started = crate::enroll::Settings::from_config(auth, home.root(), crate::home::hostname())
        .and_then(|settings| crate::enroll::start(settings, store, cluster, move || keys_file.notify()));
    match started {
        Ok(_) => true,
        Err(e) => {
            error!("Enrollment service not started: {e}");
            false
        }
    }
}

/// Starts the cluster service when `<cluster>` is enabled, on the current tokio runtime. A node
/// that cannot start it does not serve: alone, it could hand out ids another node also hands out.
fn start_cluster(
    home: &Home,
    config: &config::Config,
    store: &crate::store::Store,
    keys_file: &keys_file::KeysFile,
    sink: Option<Arc<queue::Sink>>,
    commands: Option<Arc<crate::remote::commands::Commands>>,
    engine: Option<Arc<Live>>,
) -> anyhow::Result<Option<Arc<crate::cluster::Cluster>>> {
    if config.cluster.disabled {
        return Ok(None);
    }
    let keys_file = keys_file.clone();
    let reload = engine.map(|live| {
        let (root, config) = (home.root().to_owned(), config.clone());
        Arc::new(move || {
            crate::engine::watch::reload(&root, &config, &live, None, "Ruleset changed by another node");
        }) as Arc<dyn Fn() + Send + Sync>
    });
    let load = load_meter(store, sink);
    let address = match config.cluster.bind_addr.as_str() {
        "0.0.0.0" | "::" | "" => crate::cluster::local_address(),
        given => given.to_owned(),
    };
    let wiring = crate::cluster::Wiring {
        store: store.clone(),
        changed: Arc::new(move || keys_file.notify()),
        load: Arc::new(load),
        address,
        commands,
        reload,
    };
    let cluster = crate::cluster::Cluster::start(&config.cluster, home.root(), wiring).context("cluster")?;
    Ok(Some(cluster))
}

/// Starts the REST API when `<api>` enables it; like Wazuh's daemons, the other services run on
/// when it cannot start (the error is logged).
fn start_api(home: &Home, config: Arc<config::Config>, store: crate::store::Store, services: crate::api::Services) {
    if !config.api.enabled {
        info!("API disabled (<api><enabled>no)");
        return;
    }
    match crate::api::Api::open(home.root(), config, store, services) {
        Ok(api) => {
            crate::api::start(Arc::new(api));
        }
        Err(e) => error!("API not started: {e}"),
    }
}

/// What the agent connection service shares with the API.
struct RemoteHandles {
    commands: Arc<crate::remote::commands::Commands>,
    stats: Arc<crate::remote::stats::Stats>,
    shared: Arc<crate::remote::shared::SharedFiles>,
    beats: Arc<crate::remote::beats::Beats>,
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
fn start_remote(
    home: &Home,
    config: &config::Config,
    store: &crate::store::Store,
    sink: &Arc<queue::Sink>,
) -> Option<RemoteHandles> {
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
        return None;
    };
    // analysisd rewrites the active-response list at every start; merged files carry it.
    let ar_conf = settings.shared_dir.join(crate::remote::shared::AR_CONF);
    if let Err(e) = Home::write_atomic(&ar_conf, crate::remote::shared::ar_conf(config).as_bytes(), 0o640) {
        error!("cannot write {}: {e}", ar_conf.display());
    }
    let service = match service::start(&settings, store, sink) {
        Ok(service) => service,
        Err(e) => {
            error!("Agent connection service not started: {e}");
            return None;
        }
    };
    if let Err(e) = state_files::spawn(home.path("var/run"), Arc::clone(&service.stats), Arc::clone(sink)) {
        error!("cannot start the state file writer: {e}");
    }
    sink.modules.connect(Arc::clone(&service.commands));
    let commands = Arc::clone(&service.commands);
    serve_socket(
        &home.path(AR_QUEUE),
        "vigil-ar-queue",
        |p| UnixDatagram::bind(p),
        move |socket| ar_queue::serve(socket, commands),
    );
    let handles = RemoteHandles {
        commands: Arc::clone(&service.commands),
        stats: Arc::clone(&service.stats),
        shared: service.shared,
        beats: service.beats,
    };
    let local = Arc::new(local::Local::new(service.commands, service.stats));
    serve_socket(
        &home.path(REMOTE_SOCKET),
        "vigil-remote-local",
        |p| UnixListener::bind(p),
        move |listener| local::serve(listener, local),
    );
    Some(handles)
}

/// How often the module state (written without a sync per commit) is flushed to disk.
const STATE_SYNC: Duration = Duration::from_secs(1);

/// Flushes the module state every [`STATE_SYNC`], so a power cut loses at most that much.
fn spawn_state_sync(state: crate::store::StateDb) {
    let spawned = std::thread::Builder::new().name("vigil-state-sync".into()).spawn(move || {
        loop {
            std::thread::sleep(STATE_SYNC);
            if let Err(e) = state.sync() {
                error!("cannot flush the module state: {e}");
            }
        }
    });
    if let Err(e) = spawned {
        error!("cannot start the module state flush: {e}");
    }
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
    engine: Arc<Live>,
    path: &std::path::Path,
    store: &crate::store::Store,
) -> anyhow::Result<Arc<queue::Sink>> {
    let sink = Arc::new(queue::Sink::open(home, config, engine, Some(store.clone()))?);
    let socket = queue::bind(path).with_context(|| format!("cannot bind {}", path.display()))?;
    let queue_sink = Arc::clone(&sink);
    std::thread::Builder::new().name("vigil-queue".into()).spawn(move || queue::serve(socket, queue_sink))?;
    Ok(sink)
}

/// Serves wazuh-logtest's socket (unless `<rule_test>` disables it) on its own thread; the
/// service (for the API's `PUT /logtest`) comes back.
fn start_logtest(config: &config::Config, engine: Arc<Live>, path: &std::path::Path) -> Option<Arc<Logtest>> {
    if !config.rule_test.enabled {
        info!("(7201): Logtest disabled");
        return None;
    }
    let settings = Settings::from_config(config, &crate::home::hostname());
    let service = Arc::new(Logtest::new(engine, settings));
    let listener = match socket::bind(path) {
        Ok(l) => l,
        Err(e) => {
            error!("(7300): Unable to bind to socket '{}'. {e}", path.display());
            return Some(service);
        }
    };
    let served = Arc::clone(&service);
    let spawned =
        std::thread::Builder::new().name("vigil-logtest".into()).spawn(move || socket::serve(listener, served));
    match spawned {
        Ok(_) => info!("(7200): Logtest started"),
        Err(e) => error!("cannot start the logtest service: {e}"),
    }
    Some(service)
}

/// Loads the ruleset and compiles the engine; problems are logged and the broken items skipped,
/// as analysisd skips them (their texts stay with the engine, for logtest sessions).
fn load_engine(home: &Home, config: &config::Config) -> Option<Arc<Live>> {
    match live::compile(home.root(), config) {
        Ok((engine, problems)) => {
            live::report(&engine, &problems);
            Some(Arc::new(Live::new(engine, live::messages(&problems))))
        }
        Err(e) => {
            error!("{e}");
            None
        }
    }
}

/// Waits for SIGTERM, SIGINT or a restart request and names it; each SIGHUP meanwhile reloads
/// (see [`reload`]).
async fn wait_for_stop(
    restart: &tokio::sync::Notify,
    home: &Home,
    engine: Option<Arc<Live>>,
) -> std::io::Result<(&'static str, Stopped)> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    loop {
        return Ok(tokio::select! {
            _ = term.recv() => ("SIGTERM", Stopped::Exit),
            _ = int.recv() => ("SIGINT", Stopped::Exit),
            () = restart.notified() => ("restart request", Stopped::Restart),
            _ = hup.recv() => {
                let (root, file, engine) = (home.root().to_owned(), home.config_file(), engine.clone());
                let _ = tokio::task::spawn_blocking(move || reload(&root, &file, engine.as_deref())).await;
                continue;
            }
        });
    }
}

/// SIGHUP: ossec.conf is read again and the ruleset compiled with it and put in force
/// atomically (events in flight finish on the engine they started on; none is dropped). A
/// configuration with errors, or a ruleset that does not load, leaves everything as it was.
/// Settings outside the ruleset (ports, services) take effect at the next start.
fn reload(root: &std::path::Path, config_file: &std::path::Path, engine: Option<&Live>) {
    info!("SIGHUP: reloading the configuration and the ruleset");
    let loaded = config::load(config_file);
    if let Some(e) = loaded.errors().next() {
        return error!("SIGHUP: the configuration has errors, nothing reloaded: {e}");
    }
    match engine {
        Some(live) => {
            crate::engine::watch::reload(root, &loaded.config, live, None, "SIGHUP");
        }
        None => warn!("SIGHUP: the engine is not running; nothing to reload"),
    }
}
