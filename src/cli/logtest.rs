//! `vigil logtest`: wazuh-logtest's command line (engine.md §8.1–8.2). One log per line from
//! stdin, all in one session; output in wazuh-logtest's layout on stderr (its Python logging),
//! the input prompt (a newline) on stdout; `-U rule:level:decoder` with its exit codes.
//!
//! When a server runs on the home, requests go to its `queue/sockets/logtest`; otherwise the
//! ruleset is loaded here and answered by an in-process service.

use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::WAZUH_VERSION;
use crate::config;
use crate::engine::live::{Live, compile, messages};
use crate::home::Home;
use crate::logtest::{Logtest, Settings, socket};

/// `vigil logtest` options, spelled as wazuh-logtest's.
#[derive(Debug, Clone, clap::Args)]
pub struct LogtestArgs {
    /// Version and license message.
    #[arg(short = 'V')]
    pub version: bool,
    /// Execute in debug mode (requests and replies are shown).
    #[arg(short = 'd')]
    pub debug: bool,
    /// Unit test: the expected rule id, level and decoder of the last log.
    #[arg(short = 'U', value_name = "rule:alert:decoder")]
    pub ut: Option<String>,
    /// Use a custom location.
    #[arg(short = 'l', value_name = "location", default_value = "stdin")]
    pub location: String,
    /// Quiet execution.
    #[arg(short = 'q')]
    pub quiet: bool,
    /// Verbose (full) output / rule debugging.
    #[arg(short = 'v')]
    pub verbose: bool,
    /// Read this configuration instead of the home's etc/ossec.conf.
    #[arg(short = 'c', value_name = "config")]
    pub config: Option<PathBuf>,
}

/// Python `logging` levels as wazuh-logtest uses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Debug,
    Info,
    Warning,
    Error,
}

struct Log {
    threshold: Level,
    debug_format: bool,
}

impl Log {
    fn emit(&self, level: Level, message: &str) {
        if level < self.threshold {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = if self.debug_format {
            let name = match level {
                Level::Debug => "DEBUG",
                Level::Info => "INFO",
                Level::Warning => "WARNING",
                Level::Error => "ERROR",
            };
            let now = jiff::ZonedDateTime::now();
            writeln!(err, "{} wazuh-logtest[{name}] {message}", now.strftime("%Y-%m-%d %H:%M:%S,%3f"))
        } else {
            writeln!(err, "{message}")
        };
    }

    fn info(&self, message: &str) {
        self.emit(Level::Info, message);
    }
}

/// Where requests go.
enum Backend {
    Socket(PathBuf),
    Local(Box<Logtest>),
}

impl Backend {
    fn send(&self, request: &str) -> std::io::Result<String> {
        match self {
            Self::Socket(path) => socket::request(path, request),
            Self::Local(service) => Ok(service.handle(request)),
        }
    }
}

/// Python's `repr` of a string.
fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `str` of a JSON value (`repr` for the items of lists and dicts).
fn py_str(value: &Value, nested: bool) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if nested => py_repr(s),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(|v| py_str(v, true)).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter().map(|(k, v)| format!("{}: {}", py_repr(k), py_str(v, true))).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// `show_phase_info`: the listed fields first, then the rest sorted, nested objects flattened.
fn show_phase(log: &Log, mut phase: Map<String, Value>, first: &[&str], prefix: &str) {
    for field in first {
        if let Some(v) = phase.remove(*field) {
            log.info(&format!("\t{field}: '{}'", py_str(&v, false)));
        }
    }
    let mut keys: Vec<String> = phase.keys().cloned().collect();
    keys.sort();
    for key in keys {
        match phase.remove(&key) {
            Some(Value::Object(inner)) => show_phase(log, inner, &[], &format!("{prefix}{key}.")),
            Some(v) => log.info(&format!("\t{prefix}{key}: '{}'", py_str(&v, false))),
            None => {}
        }
    }
}

/// `show_ossec_logtest_like`.
fn show_output(log: &Log, reply: &Value) {
    let mut output = reply["output"].as_object().cloned().unwrap_or_default();
    log.info("**Phase 1: Completed pre-decoding.");
    if let Some(full) = output.remove("full_log") {
        log.info(&format!("\tfull event: '{}'", py_str(&full, false)));
    }
    if let Some(Value::Object(pre)) = output.remove("predecoder") {
        show_phase(log, pre, &["timestamp", "hostname", "program_name"], "");
    }
    log.info("");
    log.info("**Phase 2: Completed decoding.");
    match output.remove("decoder") {
        Some(Value::Object(decoder)) if !decoder.is_empty() => {
            show_phase(log, decoder, &["name", "parent"], "");
            if let Some(Value::Object(data)) = output.remove("data") {
                show_phase(log, data, &[], "");
            }
        }
        _ => log.info("\tNo decoder matched."),
    }
    if let Some(trace) = reply["rules_debug"].as_array() {
        log.info("");
        log.info("**Rule debugging:");
        for line in trace.iter().filter_map(Value::as_str) {
            log.info(&format!("{}{line}", if line.starts_with('*') { "\t\t" } else { "\t" }));
        }
    }
    if let Some(Value::Object(rule)) = output.remove("rule") {
        log.info("");
        log.info("**Phase 3: Completed filtering (rules).");
        show_phase(log, rule, &["id", "level", "description", "groups", "firedtimes"], "");
    }
    if reply["alert"].as_bool() == Some(true) {
        log.info("**Alert to be generated.");
    }
}

/// The `[rule, level, decoder]` of a reply, as wazuh-logtest records it for `-U`.
fn unit_tuple(reply: &Value) -> [String; 3] {
    let output = &reply["output"];
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let (id, level) = match output.get("rule") {
        Some(rule) => (text(&rule["id"]), text(&rule["level"])),
        None => (String::new(), String::new()),
    };
    let decoder = output.get("decoder").filter(|d| d.as_object().is_some_and(|o| !o.is_empty()));
    [id, level, decoder.map(|d| text(&d["name"])).unwrap_or_default()]
}

fn list_repr(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| py_repr(s)).collect::<Vec<_>>().join(", "))
}

/// Runs `vigil logtest`.
pub fn run(home: &Home, args: &LogtestArgs) -> anyhow::Result<ExitCode> {
    let log = Log {
        threshold: if args.quiet {
            Level::Error
        } else if args.debug {
            Level::Debug
        } else {
            Level::Info
        },
        debug_format: args.debug && !args.quiet,
    };
    if args.version {
        log.info(&format!("vigil {} - wazuh-logtest {WAZUH_VERSION} compatible", env!("CARGO_PKG_VERSION")));
        log.info("\nLicensed under the Apache License, Version 2.0.\n");
        return Ok(ExitCode::SUCCESS);
    }
    let expected: Option<Vec<String>> = match &args.ut {
        Some(ut) => {
            let parts: Vec<String> = ut.split(':').map(str::to_owned).collect();
            if parts.len() != 3 {
                log.emit(Level::Error, &format!("Unit test configuration wrong syntax: {ut}"));
                return Ok(ExitCode::from(1));
            }
            Some(parts)
        }
        None => None,
    };
    let backend = backend(home, args)?;
    log.info(&format!("Starting wazuh-logtest {WAZUH_VERSION} (vigil {})", env!("CARGO_PKG_VERSION")));
    log.info("Type one log per line");
    let mut token = String::new();
    let mut last = [String::new(), String::new(), String::new()];
    let stdin = std::io::stdin();
    let mut lines = stdin.lock();
    loop {
        // `input('\n')`: the prompt is a newline on stdout.
        let _ = std::io::stdout().write_all(b"\n").and_then(|()| std::io::stdout().flush());
        let mut line = String::new();
        match lines.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let event = line.strip_suffix('\n').unwrap_or(&line);
        let event = event.strip_suffix('\r').unwrap_or(event);
        if event.is_empty() {
            continue;
        }
        log.info("");
        let mut parameters = json!({"location": args.location, "log_format": "syslog", "event": event});
        if !token.is_empty() {
            parameters["token"] = json!(token);
        }
        if args.verbose {
            parameters["options"] = json!({"rules_debug": true});
        }
        let request = json!({
            "version": 1,
            "origin": {"name": "wazuh-logtest", "module": "wazuh-logtest"},
            "command": "log_processing",
            "parameters": parameters,
        })
        .to_string();
        log.emit(Level::Debug, &format!("Request: {request}\n"));
        let reply = match backend.send(&request) {
            Ok(r) => r,
            Err(_) => {
                log.emit(Level::Error, "** Wazuh-logtest error when connecting with wazuh-analysisd");
                continue;
            }
        };
        log.emit(Level::Debug, &format!("Reply: {reply}\n"));
        let reply: Value = serde_json::from_str(&reply).unwrap_or(Value::Null);
        if reply["error"].as_i64() != Some(0) {
            log.emit(
                Level::Error,
                &format!(
                    "** Wazuh-logtest error {}: {}",
                    reply["error"],
                    reply["message"].as_str().unwrap_or_default()
                ),
            );
            continue;
        }
        let data = &reply["data"];
        if data["codemsg"].as_i64().unwrap_or(-1) < 0 {
            let messages: String = data["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|m| format!("\n\t{m}"))
                .collect();
            log.emit(Level::Error, &format!("** Wazuh-logtest error {}: {messages}", data["codemsg"]));
            continue;
        }
        let new_token = data["token"].as_str().unwrap_or_default().to_owned();
        if !token.is_empty() && token != new_token {
            log.emit(Level::Warning, &format!("New session was created with token \"{new_token}\""));
        }
        let warnings: Vec<&str> = data["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|m| m.starts_with("WARNING"))
            .collect();
        for w in &warnings {
            log.emit(Level::Warning, &format!("** Wazuh-Logtest: {w}"));
        }
        if !warnings.is_empty() {
            log.emit(Level::Warning, "");
        }
        token = new_token;
        last = unit_tuple(data);
        log.emit(Level::Debug, &serde_json::to_string_pretty(data).unwrap_or_default());
        show_output(&log, data);
        if let Some(expected) = &expected {
            log.info("");
            if expected[..] == last[..] {
                log.info("Unit test OK");
            } else {
                log.info(&format!("Unit test FAIL. Expected {} , Result {}", list_repr(expected), list_repr(&last)));
            }
        }
    }
    if !token.is_empty() && matches!(backend, Backend::Socket(_)) {
        let remove = json!({
            "version": 1,
            "origin": {"name": "wazuh-logtest", "module": "wazuh-logtest"},
            "command": "remove_session",
            "parameters": {"token": token},
        });
        let _ = backend.send(&remove.to_string());
    }
    Ok(match expected {
        None => ExitCode::SUCCESS,
        // runtests.py relies on this: equal tuples exit with the number of empty fields.
        Some(expected) if expected[..] == last[..] => {
            ExitCode::from(u8::try_from(expected.iter().filter(|e| e.is_empty()).count()).unwrap_or(1))
        }
        Some(_) => ExitCode::from(1),
    })
}

/// The running server's socket, or an in-process service over the home's ruleset.
fn backend(home: &Home, args: &LogtestArgs) -> anyhow::Result<Backend> {
    let socket_path = home.path("queue/sockets/logtest");
    if args.config.is_none() && std::os::unix::net::UnixStream::connect(&socket_path).is_ok() {
        return Ok(Backend::Socket(socket_path));
    }
    let config_file = args.config.clone().unwrap_or_else(|| home.config_file());
    let loaded = config::load(&config_file);
    if let Some(e) = loaded.errors().next() {
        anyhow::bail!("configuration error: {e}");
    }
    let (engine, problems) = compile(home.root(), &loaded.config)?;
    let settings = Settings::from_config(&loaded.config, &crate::home::hostname());
    Ok(Backend::Local(Box::new(Logtest::new(Arc::new(Live::new(engine, messages(&problems))), settings))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_reprs() {
        assert_eq!(py_repr("a'b"), "\"a'b\"");
        assert_eq!(py_repr("a\"b'c"), "'a\"b\\'c'");
        assert_eq!(py_str(&json!(["syslog", "sshd"]), false), "['syslog', 'sshd']");
        assert_eq!(py_str(&json!(3), false), "3");
        assert_eq!(py_str(&json!(true), false), "True");
        assert_eq!(py_str(&json!("plain"), false), "plain");
    }

    #[test]
    fn unit_tuples() {
        let reply = json!({"output": {"rule": {"id": "5715", "level": 3}, "decoder": {"name": "sshd"}}});
        assert_eq!(unit_tuple(&reply), ["5715".to_owned(), "3".into(), "sshd".into()]);
        let none = json!({"output": {"decoder": {}}});
        assert_eq!(unit_tuple(&none), [String::new(), String::new(), String::new()]);
    }
}
