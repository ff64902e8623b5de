//! Integrations: what Wazuh's integratord does with scripts run one alert at a time, done
//! natively. Each `<integration>` block follows the alert log from its own place (kept in the
//! store: at least once), on its own thread, with its own window of alerts in flight, timeout,
//! retries with backoff, `Retry-After`, and circuit breaker ([`worker`]), so none can slow the
//! engine or another integration. One file per service, all behind [`Integration`].

pub mod breaker;
pub mod client;
pub mod custom;
pub mod filter;
pub mod inject;
pub mod jira;
pub mod maltiverse;
pub mod pagerduty;
pub mod servicenow;
pub mod shuffle;
pub mod slack;
pub mod stats;
pub mod template;
pub mod virustotal;
pub mod webhook;
pub mod worker;

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use serde_json::{Map, Value};

use crate::config::{Config, Integration as Block};
use crate::output::alert::Alert;
use crate::output::consumers::Consumers;
use crate::output::dead_letter::{self, DeadLetter};
use crate::output::follow::Follower;
use client::{Call, Http};
use inject::Injector;
use stats::Stats;

/// How one delivery of one alert ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The service took it.
    Done,
    /// Nothing for this service to do with it (no hash to look up, a rule Shuffle ignores).
    Skipped(String),
    /// Not now: tried again after the wait given or a backoff.
    Retry {
        /// Why.
        reason: String,
        /// `Retry-After`, when the service said.
        after: Option<Duration>,
        /// The service answered, badly (408, 5xx, an answer it should not give): such tries
        /// count toward `<retries>`, after which the alert is given up. No answer at all (the
        /// service is down) or 429 (it is busy) never gives an alert up: it waits.
        counts: bool,
    },
    /// Refused for good (the service answered it will not take it): counted and dead-lettered.
    Failed(String),
}

impl Outcome {
    /// The service answered, but not as it should: tried again, `<retries>` times.
    pub fn bad_answer(reason: String) -> Self {
        Self::Retry { reason, after: None, counts: true }
    }
}

/// One delivery, run on the integration's own thread.
pub type Delivery<'a> = Pin<Box<dyn Future<Output = Outcome> + 'a>>;

/// A service alerts are delivered to.
pub trait Integration: Send {
    /// Delivers `alert` once.
    fn deliver<'a>(&'a self, alert: &'a Alert) -> Delivery<'a>;

    /// Alerts delivered at once at most (in log order they are confirmed all the same).
    fn in_flight(&self) -> usize {
        16
    }
}

/// What every service is built from: its block and the means the worker gives it.
pub struct Common {
    /// The `<integration>` block.
    pub block: Block,
    /// The home (scripts, templates, credentials files).
    pub home: PathBuf,
    /// HTTP(S) client.
    pub http: Http,
    /// `<options>`, parsed.
    pub options: Map<String, Value>,
    /// `api_key`, or the first line of `credentials_file`.
    credential: Option<String>,
    /// Where results go back into the engine.
    pub inject: Option<Injector>,
    /// The integration's counters.
    pub stats: Arc<Stats>,
}

impl std::fmt::Debug for Common {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Common").field("name", &self.block.name).finish_non_exhaustive()
    }
}

impl Common {
    /// `hook_url`, required, and a URL vigil can send to (checked now, so a bad block is
    /// refused at start rather than at every alert).
    pub fn hook_url(&self) -> anyhow::Result<&str> {
        let url = self
            .block
            .hook_url
            .as_deref()
            .map(str::trim)
            .ok_or_else(|| anyhow!("Unable to enable integration for: '{}'. Missing hook URL.", self.block.name))?;
        client::Endpoint::parse(url).map_err(|e| anyhow!("<hook_url>: {e}"))?;
        Ok(url)
    }

    /// `hook_url` when set (checked as [`Self::hook_url`]), else `default`.
    pub fn hook_url_or(&self, default: &str) -> anyhow::Result<String> {
        match &self.block.hook_url {
            Some(_) => self.hook_url().map(str::to_owned),
            None => Ok(default.to_owned()),
        }
    }

    /// The credential (`api_key` or `credentials_file`), required.
    pub fn credential(&self) -> anyhow::Result<&str> {
        self.credential
            .as_deref()
            .ok_or_else(|| anyhow!("Unable to enable integration for: '{}'. Missing API Key.", self.block.name))
    }

    /// POSTs `body` as JSON to `url` (with `authorization` when given).
    pub async fn post(&self, url: &str, body: Value, authorization: Option<String>) -> Outcome {
        let mut call = Call::post_json(url, &body);
        if let Some(auth) = authorization {
            call = call.header("authorization", auth);
        }
        client::outcome(self.http.send(&call).await)
    }

    /// POSTs `body` as JSON to `url` and gives the JSON answer of a 2xx; anything else is the
    /// outcome to report (a 2xx that is not JSON, such as a proxy's HTML page, is retried).
    pub async fn post_expecting_json(
        &self,
        url: &str,
        body: Value,
        authorization: Option<String>,
    ) -> Result<Value, Outcome> {
        let mut call = Call::post_json(url, &body).header("accept", "application/json".into());
        if let Some(auth) = authorization {
            call = call.header("authorization", auth);
        }
        match self.http.send(&call).await {
            Ok(a) if (200..300).contains(&a.status) => {
                a.json().ok_or_else(|| Outcome::bad_answer(format!("HTTP {} but not JSON: {}", a.status, a.excerpt())))
            }
            other => Err(client::outcome(other)),
        }
    }
}

/// Merges `<options>` into `target`'s top level (Wazuh's `dict.update`).
pub fn merge(target: &mut Value, options: &Map<String, Value>) {
    if let Value::Object(object) = target {
        for (key, value) in options {
            object.insert(key.clone(), value.clone());
        }
    }
}

/// Builds the service of `common.block`.
fn service(common: Common) -> anyhow::Result<Box<dyn Integration>> {
    let name = common.block.name.clone();
    Ok(match name.as_str() {
        "slack" => Box::new(slack::Slack::new(common)?),
        "pagerduty" => Box::new(pagerduty::PagerDuty::new(common)?),
        "shuffle" => Box::new(shuffle::Shuffle::new(common)?),
        "virustotal" => Box::new(virustotal::VirusTotal::new(common)?),
        "maltiverse" => Box::new(maltiverse::Maltiverse::new(common)?),
        "jira" => Box::new(jira::Jira::new(common)?),
        "servicenow" => Box::new(servicenow::ServiceNow::new(common)?),
        "teams" => Box::new(webhook::Webhook::new(common, true)?),
        "webhook" => Box::new(webhook::Webhook::new(common, false)?),
        custom if custom.starts_with("custom-") => Box::new(custom::Custom::new(common)?),
        other => anyhow::bail!("Invalid integration: '{other}'. Not currently supported."),
    })
}

/// The parts of a block its service is built from.
fn common(home: &Path, block: &Block, inject: Option<Injector>, stats: Arc<Stats>) -> anyhow::Result<Common> {
    let options = match &block.options {
        Some(text) => match serde_json::from_str(text) {
            Ok(Value::Object(map)) => map,
            _ => anyhow::bail!("<options> must be a JSON object"),
        },
        None => Map::new(),
    };
    let credential = match (&block.credentials_file, &block.api_key) {
        (Some(file), _) => {
            let path = crate::home::inside(home, file).map_err(|e| anyhow!("<credentials_file>: {e}"))?;
            let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
            Some(text.lines().next().unwrap_or("").trim().to_owned()).filter(|c| !c.is_empty())
        }
        (None, key) => key.as_ref().map(|k| k.expose().to_owned()),
    };
    let ca = block.ca_file.as_deref().map(|p| home.join(p));
    let http = Http::new(ca.as_deref(), Duration::from_secs(u64::from(block.timeout.max(1))));
    Ok(Common { block: block.clone(), home: home.to_owned(), http, options, credential, inject, stats })
}

/// Starts one worker per `<integration>` block (a block that cannot start is logged and the
/// others go on, as integratord disables it); gives their counters. Results of VirusTotal and
/// Maltiverse go to `inject`.
pub fn start(home: &Path, config: &Config, consumers: &Arc<Consumers>, inject: Option<Injector>) -> Vec<Arc<Stats>> {
    if config.integrations.is_empty() {
        return Vec::new();
    }
    if !config.global.jsonout_output {
        tracing::error!(stage = "integrations", "<jsonout_output> is off: integrations have no alerts to read");
        return Vec::new();
    }
    let stream = crate::output::writer::alerts_json(&home.join("logs"));
    let mut all = Vec::new();
    for (i, block) in config.integrations.iter().enumerate() {
        // Several blocks may share a name (two Slack channels): each has its own place.
        let repeats = config.integrations.iter().filter(|b| b.name == block.name).count() > 1;
        let name = if repeats { format!("{}-{}", block.name, i + 1) } else { block.name.clone() };
        let stats = Arc::new(Stats::new(name.clone()));
        let started = (|| -> anyhow::Result<()> {
            let filter = filter::Filter::new(block).map_err(anyhow::Error::msg)?;
            let integration = service(common(home, block, inject.clone(), Arc::clone(&stats))?)?;
            let log = Follower::open_from_now(&format!("integration.{name}"), stream.clone(), consumers)?;
            let dead = DeadLetter::new(&dead_letter::path(home, "integrations", &name));
            let worker =
                worker::Worker::new(log, integration, filter, Arc::clone(&stats), dead, block.retries.min(100));
            std::thread::Builder::new().name(format!("vigil-int-{name}")).spawn(move || worker.run())?;
            Ok(())
        })();
        match started {
            Ok(()) => {
                tracing::info!(stage = "integrations", "Enabling integration for: '{name}'.");
                all.push(stats);
            }
            Err(e) => tracing::error!(stage = "integrations", integration = %name, "{e:#}"),
        }
    }
    all
}
