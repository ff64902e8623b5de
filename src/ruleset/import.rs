//! `vigil ruleset import-wazuh`: installs Wazuh's stock ruleset into a home, from a ruleset
//! directory (`decoders/`, `rules/`, `lists/`), a Wazuh source tree, or a release tarball.
//!
//! The decoders and rules replace what `ruleset/decoders` and `ruleset/rules` held (vigil's
//! defaults move to `ruleset/disabled/`, where no `<decoder_dir>` or `<rule_dir>` reads them:
//! two rulesets decoding the same programs would shadow each other); the lists go to
//! `etc/lists`; and `etc/ossec.conf` gets the `<list>` and `<rule_exclude>` entries of Wazuh's
//! default configuration when it lacks them. Nothing from the source is run or kept besides.

use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::home::Home;

/// Lists Wazuh's default `ossec.conf` configures.
pub const STOCK_LISTS: [&str; 4] = [
    "etc/lists/audit-keys",
    "etc/lists/malicious-ioc/malware-hashes",
    "etc/lists/malicious-ioc/malicious-ip",
    "etc/lists/malicious-ioc/malicious-domains",
];

/// The rule file Wazuh's default configuration excludes.
pub const STOCK_EXCLUDE: &str = "0215-policy_rules.xml";

/// Largest file taken from a tarball (the biggest stock list is a few MB).
const MAX_FILE: u64 = 64 << 20;

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The source has no `decoders/` and `rules/` with XML files.
    #[error("{0} holds no Wazuh ruleset (expected decoders/ and rules/ with .xml files, or ruleset/ inside)")]
    NotARuleset(PathBuf),
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ImportError + '_ {
    move |source| ImportError::Io { path: path.to_owned(), source }
}

/// What was installed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    /// Decoder files.
    pub decoders: usize,
    /// Rule files.
    pub rules: usize,
    /// List files.
    pub lists: usize,
    /// Files moved to `ruleset/disabled/`.
    pub disabled: usize,
    /// Whether `etc/ossec.conf` was updated.
    pub config_updated: bool,
}

/// Installs the ruleset at `source` into `home`.
pub fn import(home: &Home, source: &Path) -> Result<Imported, ImportError> {
    let staging;
    let dir = if source.is_file() {
        staging = tempdir_in(&home.path("var"))?;
        unpack(source, &staging.0)?;
        find_ruleset(&staging.0).ok_or_else(|| ImportError::NotARuleset(source.to_owned()))?
    } else {
        find_ruleset(source).ok_or_else(|| ImportError::NotARuleset(source.to_owned()))?
    };
    let mut imported = Imported::default();
    let stamp = jiff::Timestamp::now().as_second();
    for kind in ["decoders", "rules"] {
        let target = home.path("ruleset").join(kind);
        create_dir(&target)?;
        imported.disabled += disable(&target, &home.path("ruleset/disabled").join(format!("{stamp}/{kind}")))?;
        let copied = copy_tree(&dir.join(kind), &target, |p| p.extension().is_some_and(|e| e == "xml"))?;
        if kind == "decoders" {
            imported.decoders = copied;
        } else {
            imported.rules = copied;
        }
    }
    if dir.join("lists").is_dir() {
        imported.lists = copy_tree(&dir.join("lists"), &home.path("etc/lists"), |_| true)?;
    }
    imported.config_updated = add_stock_config(&home.config_file())?;
    Ok(imported)
}

/// `dir` itself, `dir/ruleset`, or `<single top folder>/ruleset` (a source tarball).
fn find_ruleset(dir: &Path) -> Option<PathBuf> {
    let holds = |d: &Path| {
        d.join("decoders").is_dir()
            && d.join("rules").is_dir()
            && fs::read_dir(d.join("rules"))
                .is_ok_and(|mut e| e.any(|f| f.is_ok_and(|f| f.path().extension().is_some_and(|x| x == "xml"))))
    };
    let mut candidates = vec![dir.to_owned(), dir.join("ruleset")];
    if let Ok(entries) = fs::read_dir(dir) {
        candidates.extend(entries.flatten().filter(|e| e.path().is_dir()).map(|e| e.path().join("ruleset")));
    }
    candidates.into_iter().find(|d| holds(d))
}

/// A directory removed when dropped.
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn tempdir_in(parent: &Path) -> Result<Staging, ImportError> {
    create_dir(parent)?;
    let dir = parent.join(format!(".import-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    DirBuilder::new().mode(0o700).create(&dir).map_err(io_error(&dir))?;
    Ok(Staging(dir))
}

fn create_dir(dir: &Path) -> Result<(), ImportError> {
    DirBuilder::new().recursive(true).mode(0o750).create(dir).map_err(io_error(dir))
}

/// Unpacks the regular files under a `ruleset/` folder of a `.tar.gz` (or plain `.tar`) into
/// `into`, refusing paths that leave it and files larger than [`MAX_FILE`].
fn unpack(tarball: &Path, into: &Path) -> Result<(), ImportError> {
    let file = fs::File::open(tarball).map_err(io_error(tarball))?;
    let gzipped = tarball.extension().is_some_and(|e| e == "gz" || e == "tgz");
    let reader: Box<dyn io::Read> = if gzipped { Box::new(flate2::read::GzDecoder::new(file)) } else { Box::new(file) };
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(io_error(tarball))? {
        let mut entry = entry.map_err(io_error(tarball))?;
        let Ok(path) = entry.path().map(|p| p.into_owned()) else { continue };
        let inside_ruleset = path.components().any(|c| c.as_os_str() == "ruleset");
        let safe = path.components().all(|c| matches!(c, std::path::Component::Normal(_)));
        if !entry.header().entry_type().is_file() || !inside_ruleset || !safe || entry.size() > MAX_FILE {
            continue;
        }
        let target = into.join(&path);
        if let Some(parent) = target.parent() {
            create_dir(parent)?;
        }
        let mut out = fs::File::create(&target).map_err(io_error(&target))?;
        io::copy(&mut entry, &mut out).map_err(io_error(&target))?;
    }
    Ok(())
}

/// Moves every file of `dir` into `to`; returns how many.
fn disable(dir: &Path, to: &Path) -> Result<usize, ImportError> {
    let mut moved = 0;
    for entry in fs::read_dir(dir).map_err(io_error(dir))?.flatten() {
        if !entry.path().is_file() {
            continue;
        }
        create_dir(to)?;
        let target = to.join(entry.file_name());
        fs::rename(entry.path(), &target).map_err(io_error(&target))?;
        moved += 1;
    }
    Ok(moved)
}

/// Copies the files of `from` (recursively) that `keep` accepts into `to`, 0640.
fn copy_tree(from: &Path, to: &Path, keep: impl Fn(&Path) -> bool + Copy) -> Result<usize, ImportError> {
    let mut copied = 0;
    create_dir(to)?;
    let mut entries: Vec<_> = fs::read_dir(from).map_err(io_error(from))?.flatten().collect();
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copied += copy_tree(&path, &target, keep)?;
        } else if path.is_file() && keep(&path) {
            fs::copy(&path, &target).map_err(io_error(&target))?;
            fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).map_err(io_error(&target))?;
            copied += 1;
        }
    }
    Ok(copied)
}

/// Adds Wazuh's default `<list>`s and `<rule_exclude>` to the first `<ruleset>` of the config
/// when they are missing. `true` when the file changed.
fn add_stock_config(config: &Path) -> Result<bool, ImportError> {
    let text = fs::read_to_string(config).map_err(io_error(config))?;
    let mut lines: Vec<String> = STOCK_LISTS
        .iter()
        .filter(|l| !text.contains(&format!(">{l}<")))
        .map(|l| format!("    <list>{l}</list>"))
        .collect();
    if !text.contains(STOCK_EXCLUDE) {
        lines.push(format!("    <rule_exclude>{STOCK_EXCLUDE}</rule_exclude>"));
    }
    let Some(at) = text.find("</ruleset>") else {
        return Ok(false);
    };
    if lines.is_empty() {
        return Ok(false);
    }
    let mut updated = text[..at].trim_end_matches(' ').to_owned();
    updated.push_str("    <!-- Added by `vigil ruleset import-wazuh`: Wazuh's default lists and exclusions. -->\n");
    for line in lines {
        updated.push_str(&line);
        updated.push('\n');
    }
    updated.push_str("  ");
    updated.push_str(&text[at..]);
    Home::write_atomic(config, updated.as_bytes(), 0o640).map_err(io_error(config))?;
    Ok(true)
}
