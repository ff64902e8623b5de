//! Centralized configuration (protocol.md §3.4): each group's `merged.mg`, built as remoted
//! builds it, kept current by a thread that re-reads `etc/shared/` every few seconds, and the
//! messages that push it to an agent whose keepalive reports another sum.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tracing::{debug, info, warn};

use crate::secmsg::key::hex_md5;

/// How often `etc/shared/` is read again.
pub const RELOAD: Duration = Duration::from_secs(5);
/// Largest file chunk in one message.
pub const CHUNK: usize = 900;
/// The merged file's name.
pub const MERGED: &str = "merged.mg";

/// One group's merged file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// hex-md5 of the bytes.
    pub sum: String,
}

impl Merged {
    /// The messages that send it: `#!-up file <md5> merged.mg` LF, chunks of at most 900
    /// bytes, `#!-close file `.
    pub fn push_messages(&self) -> Vec<Vec<u8>> {
        let mut messages = vec![format!("#!-up file {} {MERGED}\n", self.sum).into_bytes()];
        messages.extend(self.bytes.chunks(CHUNK).map(<[u8]>::to_vec));
        messages.push(b"#!-close file ".to_vec());
        messages
    }
}

/// Builds `<shared>/<group>/merged.mg`'s contents: `#<group>` LF, then `!<size> <name>` LF and
/// the bytes of `<shared>/ar.conf` and of every file of the group (sorted, sub-directories
/// included, hidden files, `merged.mg*` and binary files left out).
pub fn build(shared: &Path, group: &str) -> std::io::Result<Merged> {
    let mut bytes = format!("#{group}\n").into_bytes();
    let ar = shared.join("ar.conf");
    if ar.is_file() {
        append(&mut bytes, &ar, "ar.conf")?;
    }
    let dir = shared.join(group);
    append_dir(&mut bytes, &dir, &dir)?;
    let sum = String::from_utf8_lossy(&hex_md5(&bytes)).into_owned();
    Ok(Merged { bytes, sum })
}

fn append(out: &mut Vec<u8>, path: &Path, name: &str) -> std::io::Result<()> {
    let content = std::fs::read(path)?;
    out.extend_from_slice(format!("!{} {name}\n", content.len()).as_bytes());
    out.extend_from_slice(&content);
    Ok(())
}

fn append_dir(out: &mut Vec<u8>, root: &Path, dir: &Path) -> std::io::Result<()> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir)?.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
    names.sort_unstable();
    for name in names {
        if name.starts_with('.') || name.starts_with(MERGED) {
            continue;
        }
        let path = dir.join(&name);
        if path.is_dir() {
            append_dir(out, root, &path)?;
            continue;
        }
        let content = std::fs::read(&path)?;
        if content.contains(&0) {
            // remoted's checkBinaryFile: a binary file is not shared.
            debug!("Invalid shared file '{}'. Ignoring it.", path.display());
            continue;
        }
        let relative = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
        out.extend_from_slice(format!("!{} {relative}\n", content.len()).as_bytes());
        out.extend_from_slice(&content);
    }
    Ok(())
}

/// Every group's merged file, as last built.
#[derive(Debug, Default)]
pub struct SharedFiles {
    groups: RwLock<HashMap<String, Arc<Merged>>>,
}

impl SharedFiles {
    /// The merged file of `group`, when the group exists.
    pub fn get(&self, group: &str) -> Option<Arc<Merged>> {
        crate::sync::read(&self.groups).get(group).cloned()
    }

    /// Rebuilds every group under `shared`; changed files are written to disk too. Returns the
    /// groups whose file changed.
    pub fn reload(&self, shared: &Path) -> Vec<String> {
        let mut changed = Vec::new();
        let mut built = HashMap::new();
        let groups = std::fs::read_dir(shared).into_iter().flatten().filter_map(|e| {
            let e = e.ok()?;
            e.file_type().ok()?.is_dir().then(|| e.file_name().into_string().ok()).flatten()
        });
        for group in groups {
            match build(shared, &group) {
                Ok(merged) => {
                    let old = self.get(&group);
                    if old.as_ref().is_none_or(|o| o.sum != merged.sum) {
                        write_merged(&shared.join(&group).join(MERGED), &merged);
                        changed.push(group.clone());
                    }
                    built.insert(group, Arc::new(merged));
                }
                Err(e) => warn!("cannot build {}/{group}/{MERGED}: {e}", shared.display()),
            }
        }
        *crate::sync::write(&self.groups) = built;
        changed
    }

    /// Builds now, then rebuilds every [`RELOAD`] on its own thread.
    pub fn spawn(shared: PathBuf) -> std::io::Result<Arc<Self>> {
        let files = Arc::new(Self::default());
        files.reload(&shared);
        let reloading = Arc::clone(&files);
        std::thread::Builder::new().name("vigil-shared-files".into()).spawn(move || {
            loop {
                std::thread::sleep(RELOAD);
                for group in reloading.reload(&shared) {
                    info!(group, "Shared configuration changed; agents get it with their next keepalive");
                }
            }
        })?;
        Ok(files)
    }
}

fn write_merged(path: &Path, merged: &Merged) {
    if std::fs::read(path).is_ok_and(|on_disk| on_disk == merged.bytes) {
        return;
    }
    if let Err(e) = crate::home::Home::write_atomic(path, &merged.bytes, 0o640) {
        warn!("cannot write {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_files_are_built_as_remoted_builds_them() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let shared = dir.path();
        std::fs::create_dir_all(shared.join("web/sub"))?;
        std::fs::write(shared.join("ar.conf"), "restart-ossec0 - restart-ossec.sh - 0\n")?;
        std::fs::write(shared.join("web/agent.conf"), "<agent_config/>\n")?;
        std::fs::write(shared.join("web/sub/extra.txt"), "x")?;
        std::fs::write(shared.join("web/.hidden"), "no")?;
        std::fs::write(shared.join("web/blob.bin"), b"\0\x01")?;
        std::fs::write(shared.join("web/merged.mg.tmp"), "no")?;
        let merged = build(shared, "web")?;
        let expected = "#web\n!38 ar.conf\nrestart-ossec0 - restart-ossec.sh - 0\n!16 agent.conf\n<agent_config/>\n!1 sub/extra.txt\nx";
        assert_eq!(String::from_utf8_lossy(&merged.bytes), expected);
        assert_eq!(merged.sum, String::from_utf8_lossy(&hex_md5(expected.as_bytes())));

        let files = SharedFiles::default();
        assert_eq!(files.reload(shared), ["web"]);
        assert_eq!(std::fs::read(shared.join("web/merged.mg"))?, merged.bytes);
        assert!(files.reload(shared).is_empty(), "unchanged: not rebuilt on disk");
        std::fs::write(shared.join("web/agent.conf"), "<agent_config>changed</agent_config>\n")?;
        assert_eq!(files.reload(shared), ["web"]);
        Ok(())
    }

    #[test]
    fn pushes_are_chunked() {
        let merged = Merged { bytes: vec![b'a'; 2000], sum: "s".into() };
        let messages = merged.push_messages();
        let sizes: Vec<usize> = messages.iter().map(Vec::len).collect();
        assert_eq!(messages[0], b"#!-up file s merged.mg\n");
        assert_eq!(sizes[1..4], [900, 900, 200]);
        assert_eq!(messages[4], b"#!-close file ");
    }
}
