//! Active response: countermeasures fired by alerts (`<command>` and `<active-response>`). A
//! reader of the alert log ([`start`]) finds the blocks each alert fires ([`trigger`]) and
//! sends the message ([`message`]) to the agents it names through their connections, or to the
//! manager's own execd ([`execd`]) for `server` (and `local` on the manager's own events).
//! vigil's scripts for the server are in [`scripts`].

pub mod execd;
pub mod message;
pub mod scripts;
pub mod trigger;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::config::Config;
use crate::logging::throttle::Throttle;
use crate::output::alert::Alert;
use crate::output::consumers::Consumers;
use crate::output::follow::Follower;
use crate::remote::commands::{Commands, Kind};
use crate::store::{AgentId, Store};
use execd::{Execd, Job};
use trigger::{Trigger, Triggers};

/// How long the reader sleeps when the log has nothing new.
const IDLE: Duration = Duration::from_millis(20);

/// Counters.
#[derive(Debug, Default)]
pub struct Stats {
    /// Responses sent to agents.
    pub sent: AtomicU64,
    /// Responses queued for the manager's execd.
    pub local: AtomicU64,
    /// Responses that could not be sent (agent not connected, unknown version, queue full).
    pub failed: AtomicU64,
    /// Alerts refused as logging attacks or white-listed.
    pub refused: AtomicU64,
}

/// Where responses go.
pub struct Dispatch {
    triggers: Triggers,
    node: String,
    commands: Option<Arc<Commands>>,
    store: Store,
    execd: Option<Execd>,
    /// Counters.
    pub stats: Arc<Stats>,
    errors: Throttle,
}

impl Dispatch {
    /// Responses per `config`, to agents through `commands` (none: no agent connection service)
    /// and to the manager through `execd`.
    pub fn new(config: &Config, commands: Option<Arc<Commands>>, store: Store, execd: Option<Execd>) -> Self {
        Self {
            triggers: Triggers::new(config),
            node: config.cluster.node_name.clone(),
            commands,
            store,
            execd,
            stats: Arc::new(Stats::default()),
            errors: Throttle::default(),
        }
    }

    fn error(&self, message: &str) {
        Stats::bump(&self.stats.failed);
        if let Some(suffix) = self.errors.allow().suffix() {
            tracing::warn!(stage = "active-response", "{message}{suffix}");
        }
    }

    /// Fires what `alert` fires.
    pub fn handle(&self, alert: &Alert) {
        let fired = match self.triggers.matching(alert) {
            Ok(fired) => fired,
            Err(refused @ trigger::Refused::WhiteListed(_)) => {
                Stats::bump(&self.stats.refused);
                return tracing::debug!(stage = "active-response", "{refused}");
            }
            Err(refused) => {
                Stats::bump(&self.stats.refused);
                if let Some(suffix) = self.errors.allow().suffix() {
                    tracing::warn!(stage = "active-response", "{refused}{suffix}");
                }
                return;
            }
        };
        for trigger in fired {
            self.fire(trigger, alert);
        }
    }

    /// Sends one response where its location says (analysisd's `OS_Exec` routing: the server
    /// branch excludes the agent ones).
    fn fire(&self, trigger: &Trigger, alert: &Alert) {
        let location = trigger.block.location;
        let name = trigger.ar_name();
        if location.server || (location.local && alert.agent_id() == "000") {
            let Some(execd) = &self.execd else {
                return self.error(&format!("{name}: the manager's execd is not running"));
            };
            let message =
                message::json(&self.node, "wazuh-analysisd", &name, trigger.command.extra_args.as_deref(), &alert.json);
            let job = Job { message, executable: trigger.command.executable.clone(), timeout: trigger.block.timeout };
            if execd.submit(job) {
                Stats::bump(&self.stats.local);
            } else {
                self.error(&format!("{name}: not queued for the manager's execd"));
            }
            return;
        }
        let agents: Vec<AgentId> = if location.all {
            self.commands.as_ref().map(|c| c.connected()).unwrap_or_default()
        } else {
            let raw =
                if location.defined_agent { trigger.block.agent_id.as_deref().unwrap_or("") } else { alert.agent_id() };
            match raw.parse() {
                Ok(id) => vec![id],
                Err(_) => return self.error(&format!("{name}: '{raw}' is not an agent id")),
            }
        };
        for agent in agents {
            self.send(agent, trigger, &name, alert);
        }
    }

    fn send(&self, agent: AgentId, trigger: &Trigger, name: &str, alert: &Alert) {
        let Some(commands) = &self.commands else {
            return self.error(&format!("{name}: the agent connection service is not running"));
        };
        // An agent connected to another node: that node announced its version.
        let version = self.store.agent(agent).ok().flatten().and_then(|a| a.version);
        let version = version.or_else(|| commands.version_elsewhere(agent));
        let Some(form) = version.as_deref().and_then(message::form) else {
            return self.error(&format!("{name} for agent {agent}: Unable to read agent version."));
        };
        let text = message::for_agent(form, &self.node, name, trigger.command.extra_args.as_deref(), alert);
        match commands.send_anywhere(agent, format!("#!-execd {text}").as_bytes(), Kind::ActiveResponse) {
            Ok(()) => {
                Stats::bump(&self.stats.sent);
                tracing::debug!(stage = "active-response", agent = %agent, "Send AR to execd: {name}");
            }
            Err(e) => self.error(&format!("{name} not sent: {e}")),
        }
    }
}

impl Stats {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters as metrics.
    pub fn expose(&self, page: &mut crate::metrics::Exposition) {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        page.counter("vigil_active_response_sent_total", "Active responses sent to agents.", &[], read(&self.sent));
        page.counter(
            "vigil_active_response_local_total",
            "Active responses run on the manager.",
            &[],
            read(&self.local),
        );
        page.counter(
            "vigil_active_response_failed_total",
            "Active responses that could not be sent.",
            &[],
            read(&self.failed),
        );
        let refused = read(&self.refused);
        page.counter(
            "vigil_active_response_refused_total",
            "Alerts refused as logging attacks or white-listed.",
            &[],
            refused,
        );
    }
}

/// Active response, running.
#[derive(Debug, Clone)]
pub struct Running {
    /// Its counters.
    pub stats: Arc<Stats>,
    /// The manager's execd (stopped at shutdown, undoing its responses).
    pub execd: Execd,
}

/// Starts active response when `config` has blocks: the manager's execd, and a reader of the
/// alert log that fires them (from the end of today's log the first time).
pub fn start(
    home: &Path,
    config: &Config,
    consumers: &Arc<Consumers>,
    commands: Option<Arc<Commands>>,
    store: Store,
) -> anyhow::Result<Option<Running>> {
    if config.active_responses.is_empty() {
        return Ok(None);
    }
    if !config.global.jsonout_output {
        anyhow::bail!("<jsonout_output> is off: active response has no alerts to read");
    }
    let execd = Execd::spawn(home, config.repeated_offenders.clone())?;
    let dispatch = Dispatch::new(config, commands, store, Some(execd.clone()));
    let stats = Arc::clone(&dispatch.stats);
    let stream = crate::output::writer::alerts_json(&home.join("logs"));
    let log = Follower::open_from_now("active-response", stream, consumers)?;
    std::thread::Builder::new().name("vigil-ar".into()).spawn(move || {
        let handle = |line: &[u8]| {
            if let Some(alert) = Alert::parse(line) {
                dispatch.handle(&alert);
            }
        };
        log.follow(IDLE, handle, || {})
    })?;
    tracing::info!(stage = "active-response", responses = config.active_responses.len(), "Active response started");
    Ok(Some(Running { stats, execd }))
}
