//! Which files a ruleset is made of, from `<ruleset>` (Wazuh's `rules-config.c`): every file in
//! each `*_dir` whose `dir/file` path matches the dir's OS_Regex pattern, minus excludes and
//! entries already listed, plus the `*_include` files, sorted by file name (byte order) across
//! directories. Paths are relative to the home, as Wazuh's are.

use std::path::{Path, PathBuf};

use crate::config::{Dir, Ruleset};
use crate::ruleset::regex::OsRegex;

/// The files to load, in Wazuh's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Files {
    /// Decoder files (`dir/file`, relative to the home).
    pub decoders: Vec<String>,
    /// CDB list files.
    pub lists: Vec<String>,
    /// Rule files.
    pub rules: Vec<String>,
}

/// A problem finding files (a bad directory pattern).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilesError(pub String);

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn listed(list: &[String], full: &str, name: &str) -> bool {
    list.iter().any(|f| f == full || f == name)
}

fn scan(
    home: &Path,
    dirs: &[Dir],
    excludes: &[String],
    mut files: Vec<String>,
    kind: &str,
) -> Result<Vec<String>, FilesError> {
    for dir in dirs {
        let pattern = OsRegex::without_captures(&dir.pattern)
            .map_err(|e| FilesError(format!("pattern in {kind}_dir '{}' does not compile: {e}", dir.path)))?;
        let Ok(entries) = std::fs::read_dir(home.join(&dir.path)) else {
            continue;
        };
        let mut names: Vec<String> =
            entries.filter_map(Result::ok).filter_map(|e| e.file_name().into_string().ok()).collect();
        names.sort();
        for name in names {
            let full = format!("{}/{name}", dir.path);
            if listed(excludes, &full, &name) || listed(&files, &full, &name) {
                continue;
            }
            if pattern.is_match(full.as_bytes()) {
                files.push(full);
            }
        }
    }
    // A stable sort keeps directory order between equal file names.
    files.sort_by(|a, b| base_name(a).cmp(base_name(b)));
    Ok(files)
}

/// Lists the ruleset files of the home.
pub fn discover(home: &Path, ruleset: &Ruleset) -> Result<Files, FilesError> {
    Ok(Files {
        decoders: scan(
            home,
            &ruleset.decoder_dirs,
            &ruleset.decoder_exclude,
            ruleset.decoder_include.clone(),
            "decoder",
        )?,
        lists: ruleset.lists.clone(),
        rules: scan(home, &ruleset.rule_dirs, &ruleset.rule_exclude, ruleset.rule_include.clone(), "rule")?,
    })
}

/// The path of a ruleset file on disk.
pub fn path(home: &Path, file: &str) -> PathBuf {
    home.join(file)
}
