//! wazuh-logtest's service (engine.md §8.3; analysisd's logtest.c): requests in Wazuh's JSON
//! protocol, answered from sessions that each keep their own rule state (counters,
//! correlation memory, FTS, accumulator) over the server's compiled ruleset. It follows
//! logtest's semantics, not analysisd's (engine.md §11): level-0 matches are reported,
//! firewall events are not dropped, nothing is written.
//!
//! `socket` serves it on `queue/sockets/logtest`; `vigil logtest` uses it in process when no
//! server runs.

pub mod request;
pub mod socket;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use request::{Code, LogRequest, Refused, Request, TOKEN_LEN};

use crate::engine::alert::json::Origin;
use crate::engine::correlate::Limits;
use crate::engine::live::Live;
use crate::engine::plugins::cjson::{ObjectWriter, print_string};
use crate::engine::rules::Mode;
use crate::engine::{Engine, Render, Session};
use crate::sync::lock;

/// Settings of the service (`<rule_test>` and `<alerts>`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Sessions kept at once; past it, the least recently used is closed.
    pub max_sessions: usize,
    /// Idle time after which a session is closed.
    pub session_timeout: Duration,
    /// `<alerts><log_alert_level>`: the `alert` flag needs at least this level.
    pub log_alert_level: u32,
    /// Correlation limits per session.
    pub limits: Limits,
    /// The manager name shown in outputs.
    pub manager: String,
}

struct Slot {
    /// The engine the session was opened on (a reload does not change open sessions).
    engine: Arc<Engine>,
    session: Session,
    last_used: Instant,
}

/// The logtest service.
pub struct Logtest {
    /// The engine in force; with its loading warnings, which every new session reports, as each
    /// Wazuh session reloads the ruleset.
    engine: Arc<Live>,
    settings: Settings,
    sessions: Mutex<HashMap<String, Arc<Mutex<Slot>>>>,
}

impl std::fmt::Debug for Logtest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logtest").field("sessions", &lock(&self.sessions).len()).finish_non_exhaustive()
    }
}

/// Messages gathered while answering, with their level.
#[derive(Default)]
struct Messages {
    items: Vec<(Level, String)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Info,
    Warning,
    Error,
}

impl Messages {
    fn push(&mut self, level: Level, text: impl Into<String>) {
        self.items.push((level, text.into()));
    }

    /// `w_logtest_add_msg_response`: the `codemsg` the messages imply, from `current`.
    fn code(&self, current: i32) -> i32 {
        self.items.iter().fold(current, |code, (level, _)| match level {
            Level::Error => -1,
            Level::Warning if code != -1 => 1,
            _ => code,
        })
    }

    fn write(&mut self, out: &mut String) {
        for (i, (level, text)) in self.items.drain(..).enumerate() {
            if i > 0 {
                out.push(',');
            }
            let prefix = match level {
                Level::Info => "INFO: ",
                Level::Warning => "WARNING: ",
                Level::Error => "ERROR: ",
            };
            print_string(&format!("{prefix}{text}"), out);
        }
    }
}

/// A new random session token: 8 lowercase hex digits.
fn new_token() -> String {
    let mut bytes = [0u8; 4];
    // Without randomness a counter-like fallback still gives distinct tokens per process.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        bytes = nanos.to_le_bytes();
    }
    format!("{:08x}", u32::from_le_bytes(bytes))
}

impl Settings {
    /// The settings `config` gives, for a manager named `manager`.
    pub fn from_config(config: &crate::config::Config, manager: &str) -> Self {
        Self {
            max_sessions: usize::from(config.rule_test.max_sessions),
            session_timeout: config.rule_test.session_timeout,
            log_alert_level: u32::from(config.alerts.log_alert_level),
            limits: Limits::from_config(&config.global),
            manager: manager.to_owned(),
        }
    }
}

impl Logtest {
    /// The service over the engine in force.
    pub fn new(engine: Arc<Live>, settings: Settings) -> Self {
        Self { engine, settings, sessions: Mutex::new(HashMap::new()) }
    }

    /// Number of open sessions.
    pub fn sessions(&self) -> usize {
        lock(&self.sessions).len()
    }

    /// Closes sessions idle for longer than the timeout.
    pub fn expire(&self) {
        let timeout = self.settings.session_timeout;
        lock(&self.sessions).retain(|_, slot| lock(slot).last_used.elapsed() < timeout);
    }

    /// Answers one request (its JSON text) with the response JSON text.
    pub fn handle(&self, text: &str) -> String {
        let mut out = String::with_capacity(1024);
        match request::parse(text) {
            Err(Refused { code, message }) => {
                let mut root = ObjectWriter::open(&mut out);
                root.string("message", &message);
                root.raw("error", &(code as i32).to_string());
                root.raw("data", "{}");
                root.close();
            }
            Ok(request) => {
                let mut data = String::new();
                match request {
                    Request::Log(log) => self.log_processing(log, &mut data),
                    Request::Remove { token } => self.remove(&token, &mut data),
                }
                let mut root = ObjectWriter::open(&mut out);
                root.raw("error", &(Code::Ok as i32).to_string());
                root.raw("data", &data);
                root.close();
            }
        }
        out
    }

    /// The response for a message larger than the protocol allows.
    pub fn too_large() -> String {
        let mut out = String::new();
        let mut root = ObjectWriter::open(&mut out);
        root.string("message", "(7315): Failure to receive message: size is bigger than expected");
        root.raw("error", &(Code::TooLarge as i32).to_string());
        root.close();
        out
    }

    fn remove(&self, token: &str, data: &mut String) {
        let mut messages = Messages::default();
        if lock(&self.sessions).remove(token).is_some() {
            messages.push(Level::Info, format!("(7206): The session '{token}' was closed successfully"));
        } else {
            messages.push(Level::Error, format!("(7004): No session found for token '{token}'"));
        }
        let code = messages.code(0);
        let mut d = ObjectWriter::open(data);
        write_messages(&mut d, &mut messages);
        d.raw("codemsg", &code.to_string());
        d.close();
    }

    /// The session for `token`, or a new one (reported in `messages`).
    fn session(&self, token: Option<&str>, messages: &mut Messages) -> (String, Arc<Mutex<Slot>>) {
        let mut sessions = lock(&self.sessions);
        if let Some(token) = token {
            if let Some(slot) = sessions.get(token) {
                return (token.to_owned(), Arc::clone(slot));
            }
            messages.push(Level::Warning, format!("(7003): '{token}' token expires"));
        }
        let loaded = self.engine.loaded();
        for warning in &loaded.warnings {
            messages.push(Level::Warning, warning.clone());
        }
        let mut token = new_token();
        while sessions.contains_key(&token) {
            token = new_token();
        }
        if sessions.len() >= self.settings.max_sessions.max(1) {
            let oldest = sessions.iter().min_by_key(|(_, s)| lock(s).last_used).map(|(t, _)| t.clone());
            if let Some(oldest) = oldest {
                sessions.remove(&oldest);
            }
        }
        let session = Session::new(loaded.engine.ruleset(), self.settings.limits);
        let engine = Arc::clone(&loaded.engine);
        let slot = Arc::new(Mutex::new(Slot { engine, session, last_used: Instant::now() }));
        sessions.insert(token.clone(), Arc::clone(&slot));
        messages.push(Level::Info, format!("(7202): Session initialized with token '{token}'"));
        debug_assert_eq!(token.len(), TOKEN_LEN);
        (token, slot)
    }

    fn log_processing(&self, request: LogRequest, data: &mut String) {
        let mut messages = Messages::default();
        for warning in &request.warnings {
            messages.push(Level::Warning, warning.clone());
        }
        let (token, slot) = self.session(request.token.as_deref(), &mut messages);
        // Wazuh writes the messages array when the session step produced any, and appends
        // later ones to it; otherwise the array comes after the output.
        let messages_first = !messages.items.is_empty();
        let mut slot = lock(&slot);
        slot.last_used = Instant::now();
        // `wstr_escape`: the location's own `|` and `:` are escaped for the queue format.
        let location = request.location.replace('|', "||").replace(':', "|:");
        let raw = format!("1:{location}:{}", request.event);
        let time = crate::engine::emit::received_now();
        let engine = Arc::clone(&slot.engine);
        let mut output = None;
        let mut trace = None;
        let mut alert = false;
        match engine.process(&slot.session, raw.as_bytes(), time.0, Mode::Logtest, request.rules_debug) {
            Ok(outcome) => {
                let origin = Origin { manager: &self.settings.manager, cluster: None };
                let mut warnings = Vec::new();
                output = Some(engine.alert_json(
                    origin,
                    &outcome,
                    Render { time, id: None, mode: Mode::Logtest, archive: false },
                    &mut warnings,
                ));
                for w in warnings {
                    messages.push(Level::Warning, w);
                }
                let level = outcome.verdict.rule.map(|r| engine.ruleset().rules.rule(r).level);
                alert = outcome.verdict.stored && level.is_some_and(|l| self.settings.log_alert_level <= l);
                trace = outcome.verdict.trace;
            }
            Err(e) => {
                messages.push(Level::Error, format!("(1106): String not correctly formatted: {e}"));
                messages.push(Level::Error, "(7312): Failed to process the event");
            }
        }
        let code = messages.code(0);
        let mut d = ObjectWriter::open(data);
        if messages_first {
            write_messages(&mut d, &mut messages);
        }
        d.string("token", &token);
        if let Some(output) = &output {
            d.raw("output", output);
        }
        if let Some(trace) = &trace {
            d.strings("rules_debug", trace.iter().map(String::as_str));
        }
        if !messages_first && !messages.items.is_empty() {
            write_messages(&mut d, &mut messages);
        }
        if code >= 0 {
            d.raw("alert", if alert { "true" } else { "false" });
        }
        d.raw("codemsg", &code.to_string());
        d.close();
    }
}

fn write_messages(d: &mut ObjectWriter<'_>, messages: &mut Messages) {
    let out = d.key("messages");
    out.push('[');
    messages.write(out);
    out.push(']');
}
