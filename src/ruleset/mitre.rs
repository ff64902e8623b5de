//! The MITRE ATT&CK table alerts are enriched from: technique id → name and tactics.
//!
//! Wazuh reads it from wazuh-db's `mitre.db`, built from the ATT&CK bundle without revoked or
//! deprecated techniques. vigil reads `ruleset/mitre/enterprise-attack-techniques.json` (ATT&CK
//! reduced to those fields) from the home, or the copy built into the binary when the home has
//! none (a home imported from Wazuh).

use std::collections::HashMap;
use std::path::Path;

/// Where the table lives, relative to the home (and to the project's `ruleset/` folder).
pub const TABLE: &str = "ruleset/mitre/enterprise-attack-techniques.json";

/// A tactic, as the table names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tactic {
    /// `TA0006`.
    pub id: String,
    /// `Credential Access`.
    pub name: String,
}

/// A technique and its tactics, in the table's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Technique {
    /// `T1110`.
    pub id: String,
    /// `Brute Force`.
    pub name: String,
    /// Its tactics.
    pub tactics: Vec<Tactic>,
}

/// Why the table cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum MitreError {
    /// The file exists but cannot be read.
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    /// It is not the expected JSON.
    #[error("{0} is not a MITRE table: {1}")]
    Format(String, String),
}

/// The techniques that are neither revoked nor deprecated, by id.
#[derive(Debug, Clone, Default)]
pub struct Mitre {
    techniques: HashMap<String, Technique>,
}

#[derive(serde::Deserialize)]
struct RawTable {
    tactics: Vec<RawTactic>,
    techniques: Vec<RawTechnique>,
}

#[derive(serde::Deserialize)]
struct RawTactic {
    id: String,
    name: String,
}

#[derive(serde::Deserialize)]
struct RawTechnique {
    id: String,
    name: String,
    tactics: Vec<String>,
    #[serde(default)]
    deprecated: bool,
    #[serde(default)]
    revoked: bool,
}

impl Mitre {
    /// Reads the home's table, or the built-in one when the home has none.
    pub fn load(home: &Path) -> Result<Self, MitreError> {
        let path = home.join(TABLE);
        match std::fs::read(&path) {
            Ok(bytes) => Self::parse(&bytes).map_err(|e| MitreError::Format(path.display().to_string(), e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::builtin()),
            Err(e) => Err(MitreError::Read(path.display().to_string(), e)),
        }
    }

    /// The table built into the binary.
    pub fn builtin() -> Self {
        let relative = TABLE.trim_start_matches("ruleset/");
        crate::home::embedded_file(relative).and_then(|bytes| Self::parse(bytes).ok()).unwrap_or_default()
    }

    /// Reads the JSON table.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let raw: RawTable = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let tactic_ids: HashMap<&str, &str> = raw.tactics.iter().map(|t| (t.name.as_str(), t.id.as_str())).collect();
        let techniques = raw
            .techniques
            .into_iter()
            .filter(|t| !t.deprecated && !t.revoked)
            .map(|t| {
                let tactics = t
                    .tactics
                    .iter()
                    .map(|name| Tactic {
                        id: tactic_ids.get(name.as_str()).copied().unwrap_or_default().to_owned(),
                        name: name.clone(),
                    })
                    .collect();
                (t.id.clone(), Technique { id: t.id, name: t.name, tactics })
            })
            .collect();
        Ok(Self { techniques })
    }

    /// The technique with this id, if the table has it (and it is current).
    pub fn technique(&self, id: &str) -> Option<&Technique> {
        self.techniques.get(id)
    }

    /// Every current technique, in no particular order.
    pub fn techniques(&self) -> impl Iterator<Item = &Technique> {
        self.techniques.values()
    }

    /// Number of current techniques.
    pub fn len(&self) -> usize {
        self.techniques.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.techniques.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_resolves_current_techniques_only() {
        let mitre = Mitre::builtin();
        assert!(mitre.len() > 600, "{} techniques", mitre.len());
        let brute = mitre.technique("T1110").expect("T1110");
        assert_eq!(brute.name, "Brute Force");
        assert_eq!(brute.tactics, vec![Tactic { id: "TA0006".into(), name: "Credential Access".into() }]);
        assert!(mitre.technique("T1002").is_none(), "deprecated techniques are left out");
        assert!(mitre.technique("T9999").is_none());
    }

    #[test]
    fn home_table_wins_and_bad_one_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(Mitre::load(dir.path()).expect("built-in").technique("T1110").is_some());
        std::fs::create_dir_all(dir.path().join("ruleset/mitre")).expect("mkdir");
        let table = r#"{"tactics":[{"id":"TA9","name":"X"}],"techniques":[{"id":"T1","name":"One","tactics":["X"]}]}"#;
        std::fs::write(dir.path().join(TABLE), table).expect("write");
        let mitre = Mitre::load(dir.path()).expect("loads");
        assert_eq!(mitre.len(), 1);
        assert_eq!(mitre.technique("T1").map(|t| t.tactics[0].id.as_str()), Some("TA9"));
        std::fs::write(dir.path().join(TABLE), "{").expect("write");
        assert!(matches!(Mitre::load(dir.path()), Err(MitreError::Format(..))));
    }
}
