//! `custom-*`: the executable `integrations/<name>` under the home, run as integratord runs it:
//! the alert written to a temporary file (the whole JSON with `alert_format json`, otherwise
//! Wazuh's `key='value'` lines with the log sanitised and cut to `max_log`), the options to
//! another, and the arguments alert file, api_key, hook_url, `debug` or empty, options file,
//! timeout and retries. Arguments are a vector: no shell ever reads them. The script does its
//! own tries, as Wazuh's do; one that has not exited after all of them (`<timeout>` times
//! `<retries>` + 1, and 5 s more) is killed with everything it started, and the alert given
//! up.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use super::{Common, Delivery, Integration, Outcome};
use crate::output::alert::Alert;

/// Longest script output kept for the log.
const MAX_OUTPUT: usize = 4096;

/// A custom script.
#[derive(Debug)]
pub struct Custom {
    common: Common,
    program: PathBuf,
    json: bool,
}

impl Custom {
    /// Needs `integrations/<name>` to be an executable file.
    pub fn new(common: Common) -> anyhow::Result<Self> {
        use std::os::unix::fs::PermissionsExt as _;
        let program = common.home.join("integrations").join(&common.block.name);
        let meta = std::fs::metadata(&program).map_err(|e| {
            anyhow::anyhow!(
                "Unable to enable integration for: '{}'. File not found inside 'integrations' ({e}).",
                common.block.name
            )
        })?;
        if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
            anyhow::bail!("{} is not an executable file", program.display());
        }
        let json = common.block.alert_format.as_deref().is_some_and(|f| f.starts_with("json"));
        Ok(Self { common, program, json })
    }
}

/// `full_log` as integratord writes it in the legacy file: quotes, backslashes, semicolons and
/// shell characters neutralised, control and non-ASCII bytes made spaces, and cut to `max`
/// characters ending in `...`.
pub fn sanitise_log(log: &str, max: usize) -> String {
    let mut out: Vec<u8> = log
        .bytes()
        .map(|b| match b {
            b'\\' => b'/',
            b';' => b',',
            b'\'' | b'`' | b'"' | b'!' | b'$' => b' ',
            b if !(32..=122).contains(&b) => b' ',
            b => b,
        })
        .collect();
    if out.len() >= max && max >= 3 {
        out.truncate(max);
        out[max - 3..].copy_from_slice(b"...");
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A source address as integratord writes it (anything but address characters a space).
fn sanitise_ip(ip: &str) -> String {
    ip.bytes().map(|b| if b == b' ' || (46..=122).contains(&b) { b as char } else { ' ' }).collect()
}

/// The legacy alert file.
pub fn legacy(alert: &Alert, max_log: usize) -> String {
    format!(
        "alertdate='{}'\nalertlocation='{}'\nruleid='{}'\nalertlevel='{}'\nruledescription='{}'\nalertlog='{}'\nsrcip='{}'",
        alert.str("timestamp").unwrap_or(""),
        alert.str("location").unwrap_or(""),
        alert.rule_id(),
        alert.level(),
        alert.str("rule.description").unwrap_or(""),
        sanitise_log(alert.str("full_log").unwrap_or(""), max_log),
        sanitise_ip(alert.str("data.srcip").unwrap_or("")),
    )
}

/// A temporary file only the service's user can read, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn create(dir: &Path, name: &str, ext: &str, bytes: &[u8]) -> std::io::Result<Self> {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(std::io::Error::other)?;
        let now = jiff::Timestamp::now().as_second();
        let path = dir.join(format!("{name}-{now}-{}.{ext}", crate::hex::encode(&random)));
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
        file.write_all(bytes)?;
        Ok(Self(path))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The end of a script's output, on one line.
fn tail(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(&output[output.len().saturating_sub(MAX_OUTPUT)..]);
    text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").chars().filter(|c| !c.is_control()).collect()
}

impl Custom {
    async fn run_once(&self, alert: &Alert) -> Result<Outcome, String> {
        let block = &self.common.block;
        let dir = std::env::temp_dir();
        let body = if self.json {
            let mut line = alert.line.clone();
            line.push(b'\n');
            line
        } else {
            legacy(alert, block.max_log as usize).into_bytes()
        };
        let alert_file = TempFile::create(&dir, &block.name, "alert", &body).map_err(|e| e.to_string())?;
        let options_file = match &block.options {
            Some(text) => Some(
                TempFile::create(&dir, &block.name, "options", format!("{text}\n").as_bytes())
                    .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        let mut command = tokio::process::Command::new(&self.program);
        command
            .arg(&alert_file.0)
            .arg(self.common.credential().unwrap_or(""))
            .arg(block.hook_url.as_deref().unwrap_or(""))
            .arg(if tracing::enabled!(tracing::Level::DEBUG) { "debug" } else { "" })
            .arg(options_file.as_ref().map_or(Path::new(""), |f| f.0.as_path()))
            .arg(block.timeout.to_string())
            .arg(block.retries.to_string())
            .current_dir(&self.common.home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let child =
            command.spawn().map_err(|e| format!("Couldn't execute command ({}): {e}", self.program.display()))?;
        let group = child.id().and_then(|id| rustix::process::Pid::from_raw(i32::try_from(id).unwrap_or(0)));
        let tries = u64::from(block.retries.min(100)) + 1;
        let limit = Duration::from_secs(u64::from(block.timeout.max(1)) * tries + 5);
        let finished = tokio::time::timeout(limit, child.wait_with_output()).await;
        if finished.is_err()
            && let Some(group) = group
        {
            // What the script started (curl, python) goes with it.
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        match finished {
            Ok(Ok(out)) if out.status.success() => Ok(Outcome::Done),
            Ok(Ok(out)) => Ok(Outcome::Failed(format!(
                "While running {} -> integrations. Output: {} Exit status was: {}",
                block.name,
                tail(if out.stderr.is_empty() { &out.stdout } else { &out.stderr }),
                out.status.code().map_or_else(|| "killed by a signal".to_owned(), |c| c.to_string())
            ))),
            Ok(Err(e)) => Err(e.to_string()),
            // Dropping the child's future kills it (kill_on_drop).
            Err(_) => Err(format!("{} did not exit within {} s and was killed", block.name, limit.as_secs())),
        }
    }
}

impl Integration for Custom {
    fn in_flight(&self) -> usize {
        4
    }

    fn deliver<'a>(&'a self, alert: &'a Alert) -> Delivery<'a> {
        Box::pin(async move { self.run_once(alert).await.unwrap_or_else(Outcome::Failed) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_file_as_integratord_writes_it() {
        assert_eq!(sanitise_log("a'b\\c;d\"e$f!g`h\ni{é", 165), "a b/c,d e f g h i   ");
        assert_eq!(sanitise_log(&"x".repeat(170), 165), format!("{}...", "x".repeat(162)));
        assert_eq!(sanitise_log(&"x".repeat(165), 165).len(), 165, "a log of exactly max_log is cut too");
        assert_eq!(sanitise_ip("1.2.3.4;rm -rf 'x"), "1.2.3.4;rm  rf  x", "as Wazuh: quotes and dashes go");
        let alert = Alert::parse(
            br#"{"timestamp":"t","location":"l","rule":{"id":"5","level":3,"description":"d"},"full_log":"x'y"}"#,
        )
        .expect("alert");
        assert_eq!(
            legacy(&alert, 165),
            "alertdate='t'\nalertlocation='l'\nruleid='5'\nalertlevel='3'\nruledescription='d'\nalertlog='x y'\nsrcip=''"
        );
    }
}
