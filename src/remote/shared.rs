//! Centralized configuration (protocol.md §3.4): each group's `merged.mg`, built as remoted
//! builds it, kept current by a thread that re-reads `etc/shared/` every few seconds, and the
//! messages that push it to an agent whose keepalive reports another sum.
//!
//! An agent in several groups gets a multigroup's file: remoted copies the groups' files, in
//! the agent's group order, into `var/multigroups/<hash>/` (a later group's file replaces an
//! earlier one's, `agent.conf`s are concatenated under a `<!-- Source file: … -->` line) and
//! merges that folder under the name `<hash>`, the first 8 hex digits of the SHA-256 of the
//! comma-joined groups.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tracing::{debug, info, warn};

use crate::secmsg::key::hex_md5;

/// How often `etc/shared/` is read again.
pub const RELOAD: Duration = Duration::from_secs(5);
/// Largest file chunk in one message.
pub const CHUNK: usize = 900;
/// The merged file's name.
pub const MERGED: &str = "merged.mg";
/// The active-response list every merged file starts with.
pub const AR_CONF: &str = "ar.conf";

/// `etc/shared/ar.conf` as analysisd writes it at start: one `<name><timeout> - <executable> -
/// <timeout>` line per `<active-response>`, which agents' execd resolves commands through.
pub fn ar_conf(config: &crate::config::Config) -> String {
    let mut text = String::new();
    for ar in &config.active_responses {
        if let Some(command) = config.commands.iter().find(|c| c.name == ar.command) {
            text.push_str(&format!("{}{} - {} - {}\n", command.name, ar.timeout, command.executable, ar.timeout));
        }
    }
    text
}

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
    merge(shared, &shared.join(group), group)
}

/// Merges the files of `dir` under the name `name`, with `<shared>/ar.conf` first.
fn merge(shared: &Path, dir: &Path, name: &str) -> std::io::Result<Merged> {
    let mut bytes = format!("#{name}\n").into_bytes();
    let ar = shared.join(AR_CONF);
    if ar.is_file() {
        append(&mut bytes, &ar, AR_CONF)?;
    }
    append_dir(&mut bytes, dir, dir)?;
    let sum = String::from_utf8_lossy(&hex_md5(&bytes)).into_owned();
    Ok(Merged { bytes, sum })
}

/// A multigroup's folder name: the first 8 hex digits of the SHA-256 of `g1,g2,…`.
pub fn multigroup_hash(groups: &[&str]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, groups.join(",").as_bytes());
    crate::hex::encode(&digest.as_ref()[..4])
}

/// Lays out `<multigroups>/<hash>/` from the groups' folders and merges it.
pub fn build_multigroup(shared: &Path, multigroups: &Path, groups: &[&str]) -> std::io::Result<Merged> {
    let hash = multigroup_hash(groups);
    let dir = multigroups.join(&hash);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    for group in groups {
        copy_group(&shared.join(group), &dir, group)?;
    }
    let merged = merge(shared, &dir, &hash)?;
    write_merged(&dir.join(MERGED), &merged);
    Ok(merged)
}

/// remoted's `copy_directory`: files replace their namesakes, except `agent.conf`, appended
/// after a line naming its group.
fn copy_group(from: &Path, to: &Path, group: &str) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(from) {
        Ok(entries) => entries,
        Err(e) => {
            warn!("Could not open directory '{}'. Group folder was deleted. ({e})", from.display());
            return Ok(());
        }
    };
    for entry in entries {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        if name.starts_with('.') || name.starts_with(MERGED) {
            continue;
        }
        let (source, target) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_group(&source, &target, group)?;
        } else if name == "agent.conf" {
            use std::io::Write as _;
            let mut out = std::fs::OpenOptions::new().create(true).append(true).open(&target)?;
            out.write_all(format!("<!-- Source file: {group}/agent.conf -->\n").as_bytes())?;
            out.write_all(&std::fs::read(&source)?)?;
        } else {
            std::fs::copy(&source, &target)?;
        }
    }
    Ok(())
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

/// Every group's and multigroup's merged file, as last built.
#[derive(Debug)]
pub struct SharedFiles {
    /// `etc/shared`.
    shared: PathBuf,
    /// `var/multigroups`.
    multigroups: PathBuf,
    groups: RwLock<HashMap<String, Arc<Merged>>>,
    /// Multigroups agents were found in, by their comma-joined groups.
    multi: RwLock<HashMap<String, Arc<Merged>>>,
    /// One multigroup folder is laid out at a time.
    building: Mutex<()>,
}

impl SharedFiles {
    /// Nothing built yet, for the groups under `shared` and multigroups under `multigroups`.
    pub fn new(shared: PathBuf, multigroups: PathBuf) -> Self {
        Self { shared, multigroups, groups: RwLock::default(), multi: RwLock::default(), building: Mutex::default() }
    }

    /// The merged file of `group`, when the group exists.
    pub fn get(&self, group: &str) -> Option<Arc<Merged>> {
        crate::sync::read(&self.groups).get(group).cloned()
    }

    /// The merged file an agent in `groups` (in its order) must hold: its group's, `default`'s
    /// when it has none, or its multigroup's, built the first time an agent needs it.
    pub fn for_agent(&self, groups: &[&str]) -> Option<Arc<Merged>> {
        match groups {
            [] => self.get("default"),
            [group] => self.get(group),
            _ => {
                let key = groups.join(",");
                if let Some(merged) = crate::sync::read(&self.multi).get(&key) {
                    return Some(Arc::clone(merged));
                }
                self.build_multi(&key)
            }
        }
    }

    fn build_multi(&self, key: &str) -> Option<Arc<Merged>> {
        let _building = crate::sync::lock(&self.building);
        let groups: Vec<&str> = key.split(',').collect();
        match build_multigroup(&self.shared, &self.multigroups, &groups) {
            Ok(merged) => {
                let merged = Arc::new(merged);
                crate::sync::write(&self.multi).insert(key.to_owned(), Arc::clone(&merged));
                Some(merged)
            }
            Err(e) => {
                warn!("cannot build the multigroup of '{key}': {e}");
                None
            }
        }
    }

    /// Rebuilds every group, and every known multigroup one of whose groups changed; changed
    /// files are written to disk too. Returns the groups whose file changed.
    pub fn reload(&self) -> Vec<String> {
        let mut changed = Vec::new();
        let mut built = HashMap::new();
        let groups = std::fs::read_dir(&self.shared).into_iter().flatten().filter_map(|e| {
            let e = e.ok()?;
            e.file_type().ok()?.is_dir().then(|| e.file_name().into_string().ok()).flatten()
        });
        for group in groups {
            match build(&self.shared, &group) {
                Ok(merged) => {
                    let old = self.get(&group);
                    if old.as_ref().is_none_or(|o| o.sum != merged.sum) {
                        write_merged(&self.shared.join(&group).join(MERGED), &merged);
                        changed.push(group.clone());
                    }
                    built.insert(group, Arc::new(merged));
                }
                Err(e) => warn!("cannot build {}/{group}/{MERGED}: {e}", self.shared.display()),
            }
        }
        let removed = crate::sync::read(&self.groups).keys().any(|g| !built.contains_key(g));
        *crate::sync::write(&self.groups) = built;
        let stale: Vec<String> = crate::sync::read(&self.multi)
            .keys()
            .filter(|key| removed || key.split(',').any(|g| changed.iter().any(|c| c == g)))
            .cloned()
            .collect();
        for key in stale {
            if self.build_multi(&key).is_some() {
                changed.push(key);
            }
        }
        changed
    }

    /// Builds now, then rebuilds every [`RELOAD`] on its own thread.
    pub fn spawn(shared: PathBuf, multigroups: PathBuf) -> std::io::Result<Arc<Self>> {
        let files = Arc::new(Self::new(shared, multigroups));
        files.reload();
        let reloading = Arc::clone(&files);
        std::thread::Builder::new().name("vigil-shared-files".into()).spawn(move || {
            loop {
                std::thread::sleep(RELOAD);
                for group in reloading.reload() {
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

        let files = SharedFiles::new(shared.to_owned(), dir.path().join("multigroups"));
        assert_eq!(files.reload(), ["web"]);
        assert_eq!(std::fs::read(shared.join("web/merged.mg"))?, merged.bytes);
        assert!(files.reload().is_empty(), "unchanged: not rebuilt on disk");
        std::fs::write(shared.join("web/agent.conf"), "<agent_config>changed</agent_config>\n")?;
        assert_eq!(files.reload(), ["web"]);
        Ok(())
    }

    #[test]
    fn multigroups_merge_their_groups_in_order() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let shared = dir.path().join("shared");
        for (group, conf, extra) in [("default", "<a/>\n", "one"), ("web", "<b/>\n", "two")] {
            std::fs::create_dir_all(shared.join(group))?;
            std::fs::write(shared.join(group).join("agent.conf"), conf)?;
            std::fs::write(shared.join(group).join("extra.txt"), extra)?;
        }
        let files = SharedFiles::new(shared.clone(), dir.path().join("multigroups"));
        files.reload();
        // wazuh-db's group_hash: the first 8 hex digits of SHA-256("default,web").
        let hash = multigroup_hash(&["default", "web"]);
        assert_eq!(hash, "5288d400");
        let merged = files.for_agent(&["default", "web"]).ok_or(std::io::ErrorKind::NotFound)?;
        let conf = "<!-- Source file: default/agent.conf -->\n<a/>\n<!-- Source file: web/agent.conf -->\n<b/>\n";
        let expected = format!("#{hash}\n!{} agent.conf\n{conf}!3 extra.txt\ntwo", conf.len());
        assert_eq!(String::from_utf8_lossy(&merged.bytes), expected);
        let on_disk = dir.path().join("multigroups").join(&hash).join("merged.mg");
        assert_eq!(std::fs::read(on_disk)?, merged.bytes);
        // A member group changes: the multigroup is rebuilt with it.
        std::fs::write(shared.join("web/extra.txt"), "three")?;
        assert!(files.reload().contains(&"default,web".to_owned()));
        let rebuilt = files.for_agent(&["default", "web"]).ok_or(std::io::ErrorKind::NotFound)?;
        assert!(String::from_utf8_lossy(&rebuilt.bytes).ends_with("!5 extra.txt\nthree"));
        assert_eq!(files.for_agent(&[]).map(|m| m.sum.clone()), files.get("default").map(|m| m.sum.clone()));
        Ok(())
    }

    #[test]
    fn ar_conf_lists_each_active_response_with_its_timeout() {
        let xml = "<ossec_config><command><name>firewall-drop</name><executable>firewall-drop</executable>\
                   <timeout_allowed>yes</timeout_allowed></command><command><name>restart-wazuh</name>\
                   <executable>restart-wazuh</executable></command><active-response><command>firewall-drop</command>\
                   <location>local</location><level>10</level><timeout>600</timeout></active-response>\
                   <active-response><command>restart-wazuh</command><location>all</location><rules_id>1</rules_id>\
                   </active-response></ossec_config>";
        let loaded = crate::config::parse(xml, Path::new("ossec.conf"));
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        assert_eq!(
            ar_conf(&loaded.config),
            "firewall-drop600 - firewall-drop - 600\nrestart-wazuh0 - restart-wazuh - 0\n"
        );
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
