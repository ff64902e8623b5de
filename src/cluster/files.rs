//! The user ruleset (`etc/rules`, `etc/decoders`, `etc/lists`) and the groups' shared files
//! (`etc/shared/<group>/`) kept alike on every node. A change made through any node's API is
//! validated there (a ruleset that does not compile is refused before it is stored), stored in
//! the `files` bucket under its home-relative path, and written by every node, which then puts
//! the new ruleset in force atomically. Shared files need no reload: the groups' merged files are
//! rebuilt from disk on their own. A group's `agent.conf` stands for the group: it is created
//! with it and deleted with it, everywhere.

use std::path::{Component, Path};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::kv::{self, Operation};
use bytes::Bytes;
use futures_util::{StreamExt as _, TryStreamExt as _};
use tracing::{error, info, warn};

use super::connect::{next_or_reconnect, watch};
use super::registry::RegistryError;
use super::seal::Sealer;
use super::stats::Stats;
use super::{Cluster, bounded};
use crate::store::{GroupName, Store};

/// Largest file the cluster shares (NATS's default payload limit is 1 MiB, headers and the
/// sealing's 29 bytes included).
pub const MAX_FILE: usize = 1_000_000;
/// Where shared files live, home-relative; the first three are the ruleset.
const SHARED: [&str; 4] = ["etc/rules/", "etc/decoders/", "etc/lists/", "etc/shared/"];

/// Whether `relative` is a file every node keeps: under one of the shared folders, and a plain
/// relative path (no `..`, not absolute).
pub fn shared(relative: &str) -> bool {
    let plain = Path::new(relative).components().all(|c| matches!(c, Component::Normal(_)));
    plain && SHARED.iter().any(|dir| relative.strip_prefix(dir).is_some_and(|rest| !rest.is_empty()))
}

fn is_ruleset(relative: &str) -> bool {
    SHARED[..3].iter().any(|dir| relative.starts_with(dir))
}

fn key(relative: &str) -> String {
    format!("file.{}", crate::hex::encode(relative.as_bytes()))
}

fn relative_of(key: &str) -> Option<String> {
    let bytes = crate::hex::decode(key.strip_prefix("file.")?)?;
    String::from_utf8(bytes).ok()
}

impl Cluster {
    /// Whether a change can be stored cluster-wide now (NATS reachable, buckets ready).
    pub fn can_share(&self) -> Result<(), RegistryError> {
        self.registry().map(drop)
    }

    /// Stores `relative` (`None`: its removal) for every node.
    pub async fn share_file(&self, relative: &str, contents: Option<&[u8]>) -> Result<(), RegistryError> {
        let unavailable = |e: String| {
            self.stats.unavailable.inc();
            RegistryError::Unavailable(e)
        };
        let bucket = self.files.get().ok_or_else(|| unavailable("NATS cannot be reached".into()))?;
        if !shared(relative) {
            return Err(RegistryError::Unavailable(format!("{relative} is not a file the cluster shares")));
        }
        match contents {
            Some(bytes) if bytes.len() > MAX_FILE => {
                Err(RegistryError::Unavailable(format!("{relative} is larger than {MAX_FILE} bytes")))
            }
            Some(bytes) => {
                let sealed = self.files_sealer.seal(&key(relative), bytes)?;
                let put = bucket.put(key(relative), Bytes::from(sealed));
                bounded(async { put.await.map(drop).map_err(|e| unavailable(e.to_string())) }).await
            }
            None => {
                let delete = bucket.delete(key(relative));
                bounded(async { delete.await.map_err(|e| unavailable(e.to_string())) }).await
            }
        }?;
        self.stats.writes.inc();
        Ok(())
    }
}

/// Keeps the files under `home` following the bucket for good; `reload` puts a changed
/// ruleset in force (blocking: it compiles). Values not sealed with the cluster key are ignored;
/// a file that cannot be written is tried again.
pub async fn follow(
    bucket: kv::Store,
    home: std::path::PathBuf,
    store: Store,
    sealer: Arc<Sealer>,
    reload: Option<Arc<dyn Fn() + Send + Sync>>,
    mut reconnects: tokio::sync::watch::Receiver<u64>,
    stats: Arc<Stats>,
) {
    warn_local_only(&bucket, &home).await;
    let mut last: Option<u64> = None;
    loop {
        let watch = watch(&bucket, "file.>", last, "the shared files", &mut reconnects, &stats).await;
        let mut batches = watch.ready_chunks(64);
        while let Some(batch) = next_or_reconnect(&mut batches, &mut reconnects).await {
            let mut ruleset_changed = false;
            let mut stop = false;
            for entry in batch {
                let Ok(entry) = entry else {
                    stats.watch_errors.inc();
                    stop = true;
                    break;
                };
                match apply(&home, &store, &sealer, &entry, &stats) {
                    Ok(changed) => ruleset_changed |= changed,
                    Err(e) => {
                        // Watched again from this entry after a pause.
                        error!(stage = "cluster", key = %entry.key, "cannot write a shared file: {e}; retrying");
                        stop = true;
                        break;
                    }
                }
                last = Some(entry.revision);
            }
            if ruleset_changed && let Some(reload) = reload.clone() {
                let _ = tokio::task::spawn_blocking(move || reload()).await;
            }
            if stop {
                break;
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Names the user ruleset files this node has that the cluster does not share (edited by hand
/// here, or from before the node joined): they load here only, so this node's ruleset differs.
async fn warn_local_only(bucket: &kv::Store, home: &Path) {
    let listed = bounded(async {
        let keys = bucket.keys().await.map_err(|e| RegistryError::Unavailable(e.to_string()))?;
        keys.try_collect::<Vec<String>>().await.map_err(|e| RegistryError::Unavailable(e.to_string()))
    })
    .await;
    let Ok(keys) = listed else { return };
    let shared: std::collections::HashSet<String> = keys.iter().filter_map(|k| relative_of(k)).collect();
    for dir in &SHARED[..3] {
        let files = std::fs::read_dir(home.join(dir)).into_iter().flatten().flatten();
        for file in files.filter(|f| f.file_type().is_ok_and(|t| t.is_file())) {
            let relative = format!("{dir}{}", file.file_name().to_string_lossy());
            if !shared.contains(&relative) {
                warn!(stage = "cluster", file = %relative, "on this node only: its ruleset differs from the cluster's until the file is changed through the API");
            }
        }
    }
}

/// Writes one entry's file; whether the ruleset changed. Bad entries are counted and skipped.
fn apply(home: &Path, store: &Store, sealer: &Sealer, entry: &kv::Entry, stats: &Stats) -> std::io::Result<bool> {
    let Some(relative) = relative_of(&entry.key).filter(|r| shared(r)) else {
        stats.corrupt.inc();
        warn!(stage = "cluster", key = %entry.key, "shared file key names no shared file; ignored");
        return Ok(false);
    };
    let contents = match entry.operation {
        Operation::Put => match sealer.open(&entry.key, &entry.value) {
            Ok(plain) => Some(plain),
            Err(e) => {
                stats.corrupt.inc();
                warn!(stage = "cluster", file = %relative, "shared file ignored: {e}");
                return Ok(false);
            }
        },
        _ => None,
    };
    if !write(&home.join(&relative), contents.as_deref())? {
        return Ok(false);
    }
    stats.applied.inc();
    info!(stage = "cluster", file = %relative, "Shared file changed by another node");
    if let Some(group) = group_of(&relative) {
        follow_group(home, store, &group, contents.is_some())?;
    }
    Ok(is_ruleset(&relative))
}

/// The group whose existence the file at `relative` stands for: `etc/shared/<group>/agent.conf`.
fn group_of(relative: &str) -> Option<GroupName> {
    let name = relative.strip_prefix("etc/shared/")?.strip_suffix("/agent.conf")?;
    name.parse().ok()
}

/// A group's agent.conf came (the group exists) or went (it was deleted on another node).
fn follow_group(home: &Path, store: &Store, group: &GroupName, exists: bool) -> std::io::Result<()> {
    let stored = if exists {
        store.add_group(group, crate::server::now()).map(drop)
    } else {
        let dir = home.join("etc/shared").join(group.as_str());
        if let Err(e) = std::fs::remove_dir_all(&dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            return Err(e);
        }
        store.write(|w| w.remove_group(group)).map(drop)
    };
    stored.map_err(std::io::Error::other)
}

/// Makes the file at `path` hold `contents` (`None`: absent); whether it changed.
fn write(path: &Path, contents: Option<&[u8]>) -> std::io::Result<bool> {
    let current = std::fs::read(path).ok();
    if current.as_deref() == contents {
        return Ok(false);
    }
    match contents {
        Some(bytes) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            crate::home::Home::write_atomic(path, bytes, 0o660)?;
        }
        None => std::fs::remove_file(path)?,
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_under_the_shared_folders_are_shared() {
        assert!(shared("etc/rules/local_rules.xml"));
        assert!(shared("etc/shared/web/agent.conf"));
        assert!(shared("etc/lists/blocked-ips"));
        for refused in [
            "etc/ossec.conf",
            "etc/rules/",
            "etc/rules/../ossec.conf",
            "/etc/rules/x",
            "etc/client.keys",
            "etc/shared/../../x",
        ] {
            assert!(!shared(refused), "{refused}");
        }
        assert_eq!(relative_of(&key("etc/rules/a b.xml")).as_deref(), Some("etc/rules/a b.xml"));
        assert_eq!(relative_of("file.zz"), None);
    }
}
