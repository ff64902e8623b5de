//! `queue/sockets/queue`: Wazuh's local datagram socket. Local tools (and, in Wazuh, its own
//! daemons) send `<q>:<location>:<message>` datagrams; each is analysed with analysisd's
//! semantics and its alert and archive lines are written at once.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::{debug, error, warn};

use crate::engine::alert::AlertIds;
use crate::engine::alert::json::Origin;
use crate::engine::emit::Outputs;
use crate::engine::live::Live;
use crate::engine::modules;
use crate::engine::rules::Mode;
use crate::output::log::{AlertLog, Batch, Counts, Durability};
use crate::output::writer::Writer;

/// Where the hourly totals go, relative to the home (Wazuh's `stats/totals`).
pub const TOTALS_DIR: &str = "stats/totals";

/// Largest datagram read (`OS_MAXSTR`); longer ones are cut by the kernel and then refused.
const MAX_DATAGRAM: usize = 65536;

/// Where events are written, shared by every input.
#[derive(Debug)]
pub struct Sink {
    /// The engine in force (swapped on reload).
    pub engine: Arc<Live>,
    /// Alert ids of this node.
    pub ids: AlertIds,
    /// Which files are written.
    pub outputs: Outputs,
    /// The alert log (its writer thread, queue and counters).
    pub log: AlertLog,
    /// Manager name in alerts.
    pub manager: String,
    /// Cluster name and node shown in alerts (a configured, visible cluster).
    pub cluster: Option<(String, String)>,
    /// Events that could not be read (counted, logged).
    pub malformed: AtomicU64,
    /// Module messages' state and answers.
    pub modules: super::modules::ModuleSink,
    /// The indexer shippers' counters, once they run.
    pub shipping: std::sync::OnceLock<Vec<Arc<crate::indexer::stats::Stats>>>,
    /// The integrations' counters, once they run.
    pub integrations: std::sync::OnceLock<Vec<Arc<crate::integrations::stats::Stats>>>,
    /// Active response's counters, once it runs.
    pub active_response: std::sync::OnceLock<Option<crate::active_response::Running>>,
    /// E-mail's counters, once it runs.
    pub email: std::sync::OnceLock<Option<Arc<crate::email::Stats>>>,
}

impl Sink {
    /// The engine with the home's alert and archive files, as `<global>` and `<cluster>` set
    /// them.
    /// Module messages keep their state in `store` (without one they are refused).
    pub fn open(
        home: &crate::home::Home,
        config: &crate::config::Config,
        engine: Arc<Live>,
        store: Option<crate::store::Store>,
    ) -> anyhow::Result<Self> {
        use anyhow::Context as _;

        use crate::output::daily::Rotation;
        let outputs = Outputs::from_config(&config.global);
        let rotation = Rotation {
            interval: config.global.rotate_interval,
            max_size: config.global.max_output_size,
            ..Rotation::default()
        };
        let writer = Writer::open(&home.path("logs"), outputs, rotation, crate::server::now())
            .context("cannot open the alert files")?;
        let durability =
            Durability { sync_interval: config.global.fsync_interval, sync_bytes: config.global.fsync_bytes };
        let counts = Arc::new(Counts::new(home.path(TOTALS_DIR)));
        let log = AlertLog::start(writer, durability, counts).context("cannot start the alert log writer")?;
        Ok(Self {
            engine,
            ids: AlertIds::default(),
            outputs,
            log,
            manager: crate::home::hostname(),
            // analysisd shows the cluster unless it is disabled or hidden.
            cluster: (!config.cluster.disabled && !config.cluster.hidden)
                .then(|| (config.cluster.name.clone(), config.cluster.node_name.clone())),
            malformed: AtomicU64::new(0),
            modules: super::modules::ModuleSink::new(store),
            shipping: std::sync::OnceLock::new(),
            integrations: std::sync::OnceLock::new(),
            active_response: std::sync::OnceLock::new(),
            email: std::sync::OnceLock::new(),
        })
    }

    /// Analyses one queue message received now, and writes what it leaves.
    pub fn handle(&self, raw: &[u8]) {
        self.handle_all(std::slice::from_ref(&raw));
    }

    /// Analyses queue messages received together, then hands what they leave to the alert log
    /// as one batch (what a core read from its sockets in one go); waits while the log's queue
    /// is full.
    pub fn handle_all<M: AsRef<[u8]>>(&self, messages: &[M]) {
        let received = crate::engine::emit::received_now();
        let cluster = self.cluster.as_ref().map(|(name, node)| (name.as_str(), node.as_str()));
        let origin = Origin { manager: &self.manager, cluster };
        let mut emitted = Vec::with_capacity(messages.len());
        let mut counted = Vec::with_capacity(messages.len());
        let mut decoded = 0;
        // One engine for the whole batch: a reload meanwhile applies from the next one.
        let engine = self.engine.engine();
        let mut batch = super::modules::Batch::default();
        for raw in messages {
            let raw = raw.as_ref();
            let outcome = if raw.get(1) == Some(&b':') && raw.first().is_some_and(|q| modules::handles(*q)) {
                match self.modules.process(&engine, &mut batch, raw, received.0) {
                    Some(o) => o,
                    None => continue,
                }
            } else {
                match engine.process(engine.shared(), raw, received.0, Mode::Analysisd, false) {
                    Ok(o) => o,
                    Err(e) => {
                        let n = self.malformed.fetch_add(1, Ordering::Relaxed) + 1;
                        warn!(dropped = n, "(1106): String not correctly formatted: {e}");
                        continue;
                    }
                }
            };
            let mut warnings = Vec::new();
            let lines = engine.emit(&outcome, received, &self.ids, origin, self.outputs, &mut warnings);
            decoded += u64::from(outcome.event.decoder.is_some());
            let fired = outcome.verdict.rule.map(|r| engine.ruleset().rules.rule(r)).map(|r| (r.sid, r.level));
            counted.push(crate::output::totals::Counted { fired, alerted: lines.id.is_some() });
            emitted.push(lines);
            for w in warnings {
                warn!("{w}");
            }
        }
        // State first: an alert on disk always has its state stored.
        self.modules.finish(batch);
        self.log.append(Batch { emitted, counted, decoded, now: received.0 });
    }
}

/// Binds the datagram socket (replacing a stale one), writable by owner and group.
pub fn bind(path: &Path) -> std::io::Result<UnixDatagram> {
    crate::home::bind_socket(path, |p| UnixDatagram::bind(p))
}

/// Reads datagrams until the socket fails.
pub fn serve(socket: UnixDatagram, sink: Arc<Sink>) {
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    loop {
        match socket.recv(&mut buf) {
            Ok(n) if n > MAX_DATAGRAM => {
                let dropped = sink.malformed.fetch_add(1, Ordering::Relaxed) + 1;
                warn!(dropped, "message larger than {MAX_DATAGRAM} bytes dropped");
            }
            Ok(n) => {
                debug!(bytes = n, "event from the local queue");
                sink.handle(&buf[..n]);
            }
            Err(e) => {
                error!("local queue closed: {e}");
                return;
            }
        }
    }
}
