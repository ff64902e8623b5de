//! `<ruleset>`: where decoders, rules and CDB lists come from (Wazuh's `src/config/rules-config.c`).
//!
//! Paths are relative to the home. Wazuh's C reader lets a later `<ruleset>` block overwrite an
//! earlier one's file lists (an array-truncation accident); vigil merges blocks instead, which is
//! what every shipped config means.

use serde::Serialize;

use super::value::Reader;
use crate::xml::Element;

/// A directory scanned for files, with the OS_Regex pattern file paths must match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dir {
    /// Directory, relative to the home.
    pub path: String,
    /// Pattern over `dir/file` (`.xml$` unless given).
    pub pattern: String,
}

/// Ruleset sources, in the order Wazuh reads them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Ruleset {
    /// Decoder directories.
    pub decoder_dirs: Vec<Dir>,
    /// Rule directories.
    pub rule_dirs: Vec<Dir>,
    /// Single decoder files.
    pub decoder_include: Vec<String>,
    /// Single rule files.
    pub rule_include: Vec<String>,
    /// Decoder files to skip (name or `dir/file`).
    pub decoder_exclude: Vec<String>,
    /// Rule files to skip.
    pub rule_exclude: Vec<String>,
    /// CDB list files.
    pub lists: Vec<String>,
}

impl Ruleset {
    /// What Wazuh loads when a block names no directory.
    pub fn with_defaults() -> Self {
        let mut r = Self::default();
        r.fill_defaults();
        r
    }

    fn fill_defaults(&mut self) {
        if self.decoder_dirs.is_empty() {
            self.decoder_dirs.push(Dir { path: "ruleset/decoders".into(), pattern: ".xml$".into() });
        }
        if self.rule_dirs.is_empty() {
            self.rule_dirs.push(Dir { path: "ruleset/rules".into(), pattern: ".xml$".into() });
        }
    }

    /// Reads one `<ruleset>` block, adding to what earlier blocks gave.
    pub fn read(&mut self, r: &mut Reader<'_>, section: &Element) {
        for el in section.children() {
            match el.name.as_str() {
                "decoder_dir" => push_dir(r, el, &mut self.decoder_dirs),
                "rule_dir" => push_dir(r, el, &mut self.rule_dirs),
                "decoder_include" => self.decoder_include.push(include(&el.text, "ruleset/decoders")),
                "rule_include" => self.rule_include.push(include(&el.text, "ruleset/rules")),
                "decoder_exclude" => self.decoder_exclude.push(el.text.clone()),
                "rule_exclude" => self.rule_exclude.push(el.text.clone()),
                "list" => self.lists.push(el.text.clone()),
                _ => r.invalid_element(el),
            }
        }
        self.fill_defaults();
    }
}

fn include(file: &str, dir: &str) -> String {
    if file.contains('/') { file.to_owned() } else { format!("{dir}/{file}") }
}

fn push_dir(r: &mut Reader<'_>, el: &Element, dirs: &mut Vec<Dir>) {
    let pattern = match (el.attributes.is_empty(), el.attr("pattern")) {
        (true, _) => ".xml$".to_owned(),
        (false, Some(p)) => p.to_owned(),
        (false, None) => {
            r.error(el, format!("Invalid attribute for '{}': only 'pattern' is allowed.", el.name));
            return;
        }
    };
    dirs.push(Dir { path: el.text.clone(), pattern });
}
