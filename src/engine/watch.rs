//! Threat-intelligence lists follow their files: the CDB lists `<ruleset><list>` names are
//! checked every [`POLL`]; when one changed and has stayed the same for a poll (a feed being
//! written is not read half-way), the ruleset is compiled again and put in force atomically.
//! Events in flight finish on the engine they started on; none is dropped. A list that no
//! longer loads leaves the engine in force as it was (logged).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::live::{self, Live};
use crate::config::Config;

/// How often the lists' files are checked.
pub const POLL: Duration = Duration::from_secs(2);

/// What a list file looked like: modification time and size (`None`: absent).
type Seen = Vec<Option<(SystemTime, u64)>>;

fn look(files: &[PathBuf]) -> Seen {
    files.iter().map(|f| std::fs::metadata(f).ok().and_then(|m| Some((m.modified().ok()?, m.len())))).collect()
}

/// Recompiles the ruleset of `home` and puts it in force unless a file whose path holds `scope`
/// (any file with `None`) fails to load; `why` names the change in the log. Gives whether it did.
pub fn reload(home: &Path, config: &Config, live: &Live, scope: Option<&str>, why: &str) -> bool {
    match live::compile(home, config) {
        Ok((engine, problems)) => {
            let broken: Vec<String> = problems
                .iter()
                .filter(|p| !p.warning && scope.is_none_or(|s| p.file.contains(s)))
                .map(ToString::to_string)
                .collect();
            if !broken.is_empty() {
                tracing::error!(
                    stage = "engine",
                    "{why}, but it does not load; the ruleset in force is kept: {}",
                    broken.join("; ")
                );
                return false;
            }
            let (rules, lists) = (engine.ruleset().rules.len(), engine.ruleset().lists.all().len());
            live.replace(engine, live::messages(&problems));
            tracing::info!(stage = "engine", rules, lists, "{why}: reloaded");
            true
        }
        Err(e) => {
            tracing::error!(stage = "engine", "{why}, but the ruleset does not compile; kept as it was: {e}");
            false
        }
    }
}

/// Watches the lists of `config` on their own thread.
pub fn spawn(home: &Path, config: &Config, live: Arc<Live>) -> std::io::Result<()> {
    let files: Vec<PathBuf> = config.ruleset.lists.iter().map(|l| home.join(l)).collect();
    if files.is_empty() {
        return Ok(());
    }
    let (home, config) = (home.to_owned(), config.clone());
    std::thread::Builder::new().name("vigil-lists".into()).spawn(move || {
        let mut in_force = look(&files);
        let mut last = in_force.clone();
        loop {
            std::thread::sleep(POLL);
            let now = look(&files);
            // Changed since it was last read, and the same as a poll ago: settled. A version
            // that does not load is not tried again until it changes.
            if now != in_force && now == last {
                reload(&home, &config, &live, Some("lists"), "CDB lists changed on disk");
                in_force = now.clone();
            }
            last = now;
        }
    })?;
    Ok(())
}
