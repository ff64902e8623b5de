//! Alert enrichment (engine.md §5.8): a rule's groups routed into compliance arrays, and its
//! MITRE technique ids resolved into names and tactics, as Wazuh's `to_json.c` builds them.

use crate::ruleset::mitre::Mitre;

/// Longest group string Wazuh splits (the rest is ignored).
const MAX_GROUPS: usize = 1023;

/// A compliance framework, chosen by a group's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    /// `pci_dss_`.
    PciDss,
    /// `cis_`.
    Cis,
    /// `gdpr_`.
    Gdpr,
    /// `gpg13_`.
    Gpg13,
    /// `hipaa_`.
    Hipaa,
    /// `nist_800_53_`.
    Nist80053,
    /// `tsc_`.
    Tsc,
}

impl Framework {
    const ALL: [Self; 7] = [Self::PciDss, Self::Cis, Self::Gdpr, Self::Gpg13, Self::Hipaa, Self::Nist80053, Self::Tsc];

    /// The group prefix that routes here.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::PciDss => "pci_dss_",
            Self::Cis => "cis_",
            Self::Gdpr => "gdpr_",
            Self::Gpg13 => "gpg13_",
            Self::Hipaa => "hipaa_",
            Self::Nist80053 => "nist_800_53_",
            Self::Tsc => "tsc_",
        }
    }

    /// The `rule.<key>` array it fills.
    pub fn key(self) -> &'static str {
        let prefix = self.prefix();
        &prefix[..prefix.len() - 1]
    }
}

/// A rule's groups as the alert shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Groups<'a> {
    /// `rule.groups`: every group without a compliance prefix.
    pub groups: Vec<&'a str>,
    /// `rule.<framework>` arrays, prefixes stripped, in order of first appearance.
    pub compliance: Vec<(Framework, Vec<&'a str>)>,
}

/// Splits a rule's group string on `,` (empty tokens dropped, no trimming, first 1023 bytes)
/// and routes each token by its prefix.
pub fn route_groups(text: &str) -> Groups<'_> {
    let cut = (0..=text.len().min(MAX_GROUPS)).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    let mut out = Groups::default();
    for token in text[..cut].split(',').filter(|t| !t.is_empty()) {
        let routed = Framework::ALL.iter().find_map(|&f| token.strip_prefix(f.prefix()).map(|rest| (f, rest)));
        match routed {
            Some((framework, rest)) => match out.compliance.iter_mut().find(|(f, _)| *f == framework) {
                Some((_, items)) => items.push(rest),
                None => out.compliance.push((framework, vec![rest])),
            },
            None => out.groups.push(token),
        }
    }
    out
}

/// `rule.mitre` of an alert: keys in this order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MitreOut<'a> {
    /// `id`.
    pub id: Vec<&'a str>,
    /// `tactic`.
    pub tactic: Vec<&'a str>,
    /// `technique`.
    pub technique: Vec<&'a str>,
}

/// A rule's `<mitre>` resolved; `None` when no tactic was found (Wazuh then drops `mitre`).
/// Problems found on the way are Wazuh's warnings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved<'a> {
    /// What the alert shows.
    pub mitre: Option<MitreOut<'a>>,
    /// Wazuh's warning texts.
    pub warnings: Vec<String>,
}

fn unknown(id: &str) -> String {
    format!("Mitre Technique ID '{id}' not found in database.")
}

/// The classic `<mitre><id>T…</id></mitre>`: ids as written; every tactic of each known
/// technique, de-duplicated in table order; the known techniques' names in id order.
pub fn resolve_ids<'a>(mitre: &'a Mitre, ids: &'a [String]) -> Resolved<'a> {
    let mut out = MitreOut { id: ids.iter().map(String::as_str).collect(), ..MitreOut::default() };
    let mut warnings = Vec::new();
    for id in ids {
        let Some(technique) = mitre.technique(id) else {
            warnings.push(unknown(id));
            continue;
        };
        for tactic in &technique.tactics {
            if !out.tactic.contains(&tactic.name.as_str()) {
                out.tactic.push(&tactic.name);
            }
        }
        out.technique.push(&technique.name);
    }
    Resolved { mitre: (!out.tactic.is_empty()).then_some(out), warnings }
}

/// Technique and tactic pairs: a pair counts only when the tactic is one of the technique's;
/// each tactic and each technique (by name) is shown once.
pub fn resolve_pairs<'a>(mitre: &'a Mitre, pairs: &'a [(String, String)]) -> Resolved<'a> {
    let mut out = MitreOut::default();
    let mut warnings = Vec::new();
    for (technique_id, tactic_id) in pairs {
        let Some(technique) = mitre.technique(technique_id) else {
            warnings.push(unknown(technique_id));
            continue;
        };
        let Some(tactic) = technique.tactics.iter().find(|t| t.id == *tactic_id) else {
            warnings.push(format!("Mitre Tactic ID '{tactic_id}' is not a tactic of '{technique_id}'."));
            continue;
        };
        if !out.tactic.contains(&tactic.name.as_str()) {
            out.tactic.push(&tactic.name);
        }
        if !out.technique.contains(&technique.name.as_str()) {
            out.id.push(&technique.id);
            out.technique.push(&technique.name);
        }
    }
    Resolved { mitre: (!out.tactic.is_empty()).then_some(out), warnings }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_route_by_prefix_in_first_appearance_order() {
        let g =
            route_groups("syslog,sshd,,gdpr_IV_35.7.d,pci_dss_10.2.4,authentication_failed,pci_dss_10.2.5,tsc_CC6.1,");
        assert_eq!(g.groups, vec!["syslog", "sshd", "authentication_failed"]);
        assert_eq!(
            g.compliance,
            vec![
                (Framework::Gdpr, vec!["IV_35.7.d"]),
                (Framework::PciDss, vec!["10.2.4", "10.2.5"]),
                (Framework::Tsc, vec!["CC6.1"])
            ]
        );
        assert_eq!(Framework::Nist80053.key(), "nist_800_53");
        assert_eq!(route_groups(" a, b").groups, vec![" a", " b"], "no trimming");
        let long = format!("{},tail", "x".repeat(1020));
        assert_eq!(route_groups(&long).groups, vec!["x".repeat(1020).as_str(), "ta"], "first 1023 bytes only");
    }

    #[test]
    fn classic_ids() {
        let mitre = Mitre::builtin();
        let ids: Vec<String> = vec!["T1110".into(), "T9999".into(), "T1021".into()];
        let r = resolve_ids(&mitre, &ids);
        let out = r.mitre.expect("tactics found");
        assert_eq!(out.id, vec!["T1110", "T9999", "T1021"], "ids as written, unknown ones too");
        assert_eq!(out.technique, vec!["Brute Force", "Remote Services"]);
        assert_eq!(out.tactic, vec!["Credential Access", "Lateral Movement"]);
        assert_eq!(r.warnings, vec!["Mitre Technique ID 'T9999' not found in database.".to_owned()]);
        let none: Vec<String> = vec!["T9999".into()];
        assert_eq!(resolve_ids(&mitre, &none).mitre, None, "no tactic: no mitre");
    }

    #[test]
    fn technique_tactic_pairs() {
        let mitre = Mitre::builtin();
        let pairs: Vec<(String, String)> = vec![
            ("T1110".into(), "TA0006".into()),
            ("T1110".into(), "TA0006".into()),
            ("T1110".into(), "TA0001".into()),
        ];
        let r = resolve_pairs(&mitre, &pairs);
        let out = r.mitre.expect("one valid pair");
        assert_eq!(
            (out.id, out.tactic, out.technique),
            (vec!["T1110"], vec!["Credential Access"], vec!["Brute Force"])
        );
        assert_eq!(r.warnings, vec!["Mitre Tactic ID 'TA0001' is not a tactic of 'T1110'.".to_owned()]);
    }
}
