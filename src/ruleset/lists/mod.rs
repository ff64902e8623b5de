//! CDB lists (engine.md §6): the text files a `<ruleset><list>` names, indexed at load into
//! immutable maps (no `.cdb` files are built or read), and the rule-side lookups on them.
//!
//! A configured name without `/` lives under `ruleset/rules/`; it is cut at its first `.cdb`,
//! and a rule may name the list by either the text name or that name plus `.cdb`.

mod check;
pub mod feed;
pub mod parse;

use std::collections::HashMap;
use std::path::Path;

pub use check::{CheckError, ListCheck, ListField, Lookup};
pub use parse::entry;

/// Index of a list in [`Lists`].
pub type ListId = usize;

/// One loaded list.
#[derive(Debug, Clone)]
pub struct List {
    /// The text file's name, as rules may write it.
    pub txt_name: String,
    /// The same with `.cdb`, which rules may write too.
    pub cdb_name: String,
    entries: HashMap<Box<[u8]>, Box<[u8]>>,
}

impl List {
    /// A list from its text. Keys are exact and case-sensitive; the first of duplicate keys wins.
    pub fn from_text(configured: &str, text: &[u8]) -> Self {
        let (txt_name, cdb_name) = names(configured);
        let mut entries = HashMap::new();
        for line in text.split(|&b| b == b'\n') {
            if let Some((key, value)) = entry(line) {
                entries.entry(key.into()).or_insert_with(|| value.into());
            }
        }
        Self { txt_name, cdb_name, entries }
    }

    /// The value stored under `key`.
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.entries.get(key).map(|v| &**v)
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list has no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The text and `.cdb` names Wazuh derives from a configured list name.
pub fn names(configured: &str) -> (String, String) {
    let mut txt = if configured.contains('/') { configured.to_owned() } else { format!("ruleset/rules/{configured}") };
    if let Some(at) = txt.find(".cdb") {
        txt.truncate(at);
    }
    let cdb = format!("{txt}.cdb");
    (txt, cdb)
}

/// Every loaded list, in configuration order.
#[derive(Debug, Clone, Default)]
pub struct Lists {
    lists: Vec<List>,
}

/// Why a configured list is not loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("(1103): Could not open file '{file}' due to [({errno})-({reason})].")]
pub struct ListFileError {
    /// The text file, relative to the home.
    pub file: String,
    /// The OS error number.
    pub errno: i32,
    /// Its text.
    pub reason: String,
}

impl Lists {
    /// Loads each configured list from `home`; one that cannot be read is reported and left out,
    /// as Wazuh does.
    pub fn load(home: &Path, configured: &[String]) -> (Self, Vec<ListFileError>) {
        let mut lists = Self::default();
        let mut errors = Vec::new();
        for name in configured {
            let (txt, _) = names(name);
            match std::fs::read(home.join(&txt)) {
                Ok(text) => lists.lists.push(List::from_text(name, &text)),
                Err(e) => errors.push(ListFileError {
                    file: txt,
                    errno: e.raw_os_error().unwrap_or(0),
                    reason: e.to_string().split(" (os error").next().unwrap_or_default().to_owned(),
                }),
            }
        }
        (lists, errors)
    }

    /// The list a rule names, by its text or `.cdb` name.
    pub fn find(&self, name: &str) -> Option<ListId> {
        self.lists.iter().position(|l| l.txt_name == name || l.cdb_name == name)
    }

    /// The list with this id.
    pub fn get(&self, id: ListId) -> Option<&List> {
        self.lists.get(id)
    }

    /// Every list.
    pub fn all(&self) -> &[List] {
        &self.lists
    }

    /// Entries over all lists.
    pub fn entries(&self) -> usize {
        self.lists.iter().map(List::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_wazuh_derives_them() {
        assert_eq!(names("etc/lists/audit-keys"), ("etc/lists/audit-keys".into(), "etc/lists/audit-keys.cdb".into()));
        assert_eq!(
            names("etc/lists/audit-keys.cdb"),
            ("etc/lists/audit-keys".into(), "etc/lists/audit-keys.cdb".into())
        );
        assert_eq!(names("my-list"), ("ruleset/rules/my-list".into(), "ruleset/rules/my-list.cdb".into()));
    }

    #[test]
    fn first_duplicate_wins_and_lookup_is_exact() {
        let list = List::from_text("etc/lists/x", b"a:1\na:2\nB:3\nskip me\n\"k:q\":v\n");
        assert_eq!(list.get(b"a"), Some(&b"1"[..]));
        assert_eq!(list.get(b"b"), None, "keys are case-sensitive");
        assert_eq!(list.get(b"k:q"), Some(&b"v"[..]));
        assert_eq!(list.len(), 3);
    }

    #[test]
    fn missing_file_reported_rest_loaded() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("etc/lists")).expect("mkdir");
        std::fs::write(dir.path().join("etc/lists/ok"), "k:v\n").expect("write");
        let (lists, errors) = Lists::load(dir.path(), &["etc/lists/ok".into(), "etc/lists/missing.cdb".into()]);
        assert_eq!(lists.all().len(), 1);
        assert_eq!(lists.find("etc/lists/ok.cdb"), Some(0));
        assert_eq!(lists.find("etc/lists/missing"), None);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].to_string().starts_with("(1103): Could not open file 'etc/lists/missing' due to [(2)-("));
    }
}
