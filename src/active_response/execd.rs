//! The manager's own execd: active responses whose location is the server (or `local` for the
//! manager's own events) run here, as Wazuh's execd runs them. The script under
//! `active-response/bin/` gets the message with `command` `add` on stdin (no arguments, no
//! shell); if it answers `check_keys`, the keys decide whether the response is new (`continue`,
//! and its `delete` is run after the timeout, lengthened for repeat offenders) or already in
//! force (`abort`, and its timeout starts again). Unlike Wazuh's, every wait has a limit: a
//! script that hangs is killed and never holds the others.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};

/// How long a script has to answer on stdout (check_keys) and then to exit.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);

/// Responses waiting to run at most; more are refused (counted and logged).
const QUEUE: usize = 1024;

/// Longest answer line read from a script.
const MAX_LINE: usize = 8192;

/// One response to run.
#[derive(Debug, Clone)]
pub struct Job {
    /// The message (`command` is the AR name; replaced by `add`).
    pub message: Value,
    /// The script's file name under `active-response/bin/`.
    pub executable: String,
    /// Seconds before `delete` (0: never).
    pub timeout: u32,
}

/// A response in force, waiting for its `delete`.
#[derive(Debug)]
struct Active {
    program: PathBuf,
    delete: Value,
    added: Instant,
    timeout: Duration,
}

/// What execd's thread is asked.
#[derive(Debug)]
enum Request {
    /// Run a response.
    Run(Job),
    /// Run every pending `delete` (a countermeasure must not outlive the service that would
    /// undo it, as Wazuh's execd does at shutdown), say so, and stop.
    Stop(SyncSender<()>),
}

/// The handle responses are queued through.
#[derive(Debug, Clone)]
pub struct Execd {
    jobs: SyncSender<Request>,
}

impl Execd {
    /// Starts execd for `home` on its own thread.
    pub fn spawn(home: &Path, repeated_offenders: Vec<u32>) -> std::io::Result<Self> {
        let (jobs, queue) = std::sync::mpsc::sync_channel(QUEUE);
        let runner = Runner {
            bin: home.join("active-response/bin"),
            home: home.to_owned(),
            repeated_offenders,
            offenders: HashMap::new(),
            active: HashMap::new(),
        };
        std::thread::Builder::new().name("vigil-execd".into()).spawn(move || runner.run(queue))?;
        Ok(Self { jobs })
    }

    /// Queues `job`; false (logged) when the queue is full or execd is gone.
    pub fn submit(&self, job: Job) -> bool {
        match self.jobs.try_send(Request::Run(job)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                tracing::error!(stage = "active-response", "execd queue full: response dropped");
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Runs every pending `delete` and stops execd; waits for it at most `limit`.
    pub fn stop(&self, limit: Duration) {
        let (done, finished) = std::sync::mpsc::sync_channel(1);
        if self.jobs.send(Request::Stop(done)).is_ok() && finished.recv_timeout(limit).is_err() {
            tracing::error!(stage = "active-response", "execd did not undo its responses in time");
        }
    }
}

/// The execd thread's state.
struct Runner {
    bin: PathBuf,
    home: PathBuf,
    repeated_offenders: Vec<u32>,
    /// Times each key was seen (never cleared, as in Wazuh).
    offenders: HashMap<String, usize>,
    /// Responses in force by key.
    active: HashMap<String, Active>,
}

/// The keys of a `check_keys` answer, if it is one.
pub fn check_keys(line: &str) -> Option<Vec<String>> {
    let answer: Value = serde_json::from_str(line).ok()?;
    let ok = answer.get("version").is_some_and(Value::is_number)
        && answer.get("origin").is_some_and(Value::is_object)
        && answer.get("command").and_then(Value::as_str) == Some("check_keys");
    if !ok {
        return None;
    }
    let keys = answer.pointer("/parameters/keys")?.as_array()?;
    Some(keys.iter().filter_map(Value::as_str).map(str::to_owned).collect())
}

impl Runner {
    fn run(mut self, queue: Receiver<Request>) {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(r) => r,
            Err(e) => return tracing::error!(stage = "active-response", "execd cannot start: {e}"),
        };
        loop {
            match queue.recv_timeout(Duration::from_secs(1)) {
                Ok(Request::Run(job)) => runtime.block_on(self.add(job)),
                Ok(Request::Stop(done)) => {
                    for active in self.active.values_mut() {
                        active.timeout = Duration::ZERO;
                    }
                    runtime.block_on(self.expire());
                    let _ = done.send(());
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            runtime.block_on(self.expire());
        }
    }

    /// The script for `executable`, refusing paths that leave `bin`.
    fn program(&self, executable: &str) -> Option<PathBuf> {
        if executable.is_empty() || executable.contains('/') || executable == ".." {
            return None;
        }
        Some(self.bin.join(executable))
    }

    /// The timeout for the `n`th sighting of a key.
    fn offender_timeout(&mut self, key: &str, configured: u32) -> Duration {
        let seen = self.offenders.entry(key.to_owned()).or_insert(0);
        let minutes = &self.repeated_offenders;
        let seconds = match (*seen, minutes.last()) {
            (0, _) | (_, None) => configured,
            (n, Some(last)) => minutes.get(n - 1).unwrap_or(last).saturating_mul(60),
        };
        *seen += 1;
        Duration::from_secs(u64::from(seconds))
    }

    async fn add(&mut self, job: Job) {
        let Some(program) = self.program(&job.executable) else {
            return tracing::error!(
                stage = "active-response",
                "(1311): Invalid command name '{}' provided.",
                job.executable
            );
        };
        let mut message = job.message;
        message["command"] = json!("add");
        message["origin"]["module"] = json!("wazuh-execd");
        message["parameters"]["program"] = json!(format!("active-response/bin/{}", job.executable));
        tracing::info!(stage = "active-response", script = %job.executable, "Executing command '{}'", program.display());
        let run = self.converse(&program, &message, job.timeout);
        match tokio::time::timeout(SCRIPT_TIMEOUT * 2, run).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(stage = "active-response", script = %job.executable, "{e}"),
            Err(_) => {
                tracing::error!(stage = "active-response", script = %job.executable, "the script did not finish in time and was killed")
            }
        }
    }

    /// Runs `program` with `message`, answers its check_keys, and waits for it.
    async fn converse(&mut self, program: &Path, message: &Value, timeout: u32) -> Result<(), String> {
        let mut child = spawn(program, &self.home, true)?;
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        stdin
            .write_all(format!("{message}\n").as_bytes())
            .await
            .map_err(|e| format!("cannot write to the script: {e}"))?;
        let mut reader = BufReader::new(stdout.take(MAX_LINE as u64));
        let mut line = String::new();
        let read = tokio::time::timeout(SCRIPT_TIMEOUT, reader.read_line(&mut line)).await;
        let name = program.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let keys = match read {
            Ok(Ok(n)) if n > 0 => check_keys(line.trim_end()),
            Ok(_) => None,
            Err(_) => return Err("no answer from the script in time; killed".into()),
        };
        match keys {
            None => {
                tracing::debug!(
                    stage = "active-response",
                    "Active response won't be added to timeout list. Message not received with alert keys from script '{name}'"
                );
            }
            Some(keys) => {
                let key = std::iter::once(name.clone()).chain(keys).collect::<Vec<_>>().join("-");
                let go = self.decide(&key, program, message, timeout);
                let mut answer = message.clone();
                answer["command"] = json!(if go { "continue" } else { "abort" });
                stdin
                    .write_all(format!("{answer}\n").as_bytes())
                    .await
                    .map_err(|e| format!("cannot answer the script: {e}"))?;
            }
        }
        drop(stdin);
        wait(child, &name).await
    }

    /// Whether the response keyed `key` is new (`continue`) or already in force (`abort`, its
    /// timeout restarted).
    fn decide(&mut self, key: &str, program: &Path, message: &Value, timeout: u32) -> bool {
        if timeout == 0 {
            return true;
        }
        let timeout = if self.repeated_offenders.is_empty() {
            Duration::from_secs(u64::from(timeout))
        } else {
            self.offender_timeout(key, timeout)
        };
        if let Some(active) = self.active.get_mut(key) {
            (active.added, active.timeout) = (Instant::now(), timeout);
            return false;
        }
        let mut delete = message.clone();
        delete["command"] = json!("delete");
        tracing::info!(
            stage = "active-response",
            "Adding command '{}' to the timeout list, with a timeout of '{}s'.",
            program.display(),
            timeout.as_secs()
        );
        self.active
            .insert(key.to_owned(), Active { program: program.to_owned(), delete, added: Instant::now(), timeout });
        true
    }

    /// Runs the `delete` of every response whose time is up.
    async fn expire(&mut self) {
        let due: Vec<String> = self
            .active
            .iter()
            .filter(|(_, a)| a.timeout.is_zero() || a.added.elapsed() > a.timeout)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            let Some(active) = self.active.remove(&key) else { continue };
            tracing::info!(stage = "active-response", key = %key, "Executing the delete of an expired response");
            let name = active.program.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let run = async {
                let mut child = spawn(&active.program, &self.home, false)?;
                let mut stdin = child.stdin.take().ok_or("no stdin")?;
                stdin.write_all(format!("{}\n", active.delete).as_bytes()).await.map_err(|e| e.to_string())?;
                drop(stdin);
                wait(child, &name).await
            };
            if let Err(e) = run.await {
                tracing::error!(stage = "active-response", key = %key, "delete failed: {e}");
            }
        }
    }
}

/// Starts `program` with piped stdin (and stdout when its answer is read), no arguments, from
/// the home.
fn spawn(program: &Path, home: &Path, answer: bool) -> Result<tokio::process::Child, String> {
    tokio::process::Command::new(program)
        .current_dir(home)
        .stdin(Stdio::piped())
        .stdout(if answer { Stdio::piped() } else { Stdio::null() })
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))
}

/// Waits for `child` to exit, at most [`SCRIPT_TIMEOUT`] (then kills it).
async fn wait(mut child: tokio::process::Child, name: &str) -> Result<(), String> {
    match tokio::time::timeout(SCRIPT_TIMEOUT, child.wait()).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(format!("{name} exited with {status}")),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => {
            let _ = child.kill().await;
            Err(format!("{name} did not exit within {} s and was killed", SCRIPT_TIMEOUT.as_secs()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_keys_answers_and_offenders() {
        let ok = r#"{"version":1,"origin":{"name":"firewall-drop","module":"active-response"},"command":"check_keys","parameters":{"keys":["1.2.3.4"]}}"#;
        assert_eq!(check_keys(ok), Some(vec!["1.2.3.4".to_owned()]));
        assert_eq!(check_keys(r#"{"command":"check_keys","parameters":{"keys":[]}}"#), None, "not the full shape");
        assert_eq!(check_keys("garbage"), None);

        let mut r = Runner {
            bin: PathBuf::from("/x"),
            home: PathBuf::from("/"),
            repeated_offenders: vec![10, 30],
            offenders: HashMap::new(),
            active: HashMap::new(),
        };
        let secs = |r: &mut Runner| r.offender_timeout("fw-1.2.3.4", 600).as_secs();
        assert_eq!([secs(&mut r), secs(&mut r), secs(&mut r), secs(&mut r)], [600, 600, 1800, 1800]);
        assert_eq!(r.program("../evil"), None);
        assert_eq!(r.program("firewall-drop"), Some(PathBuf::from("/x/firewall-drop")));
    }
}
