//! Resource patterns of policies (`<type>:<key>:<value>`, `*` as value, `&` joining two) and the
//! things a request acts on.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The resource types of Wazuh's catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `*:*`: resourceless actions.
    Any,
    /// `agent:id`.
    AgentId,
    /// `agent:group`: agents by the groups they belong to.
    AgentGroup,
    /// `group:id`.
    GroupId,
    /// `node:id`.
    NodeId,
    /// `decoder:file`.
    DecoderFile,
    /// `list:file`.
    ListFile,
    /// `rule:file`.
    RuleFile,
    /// `policy:id`.
    PolicyId,
    /// `role:id`.
    RoleId,
    /// `rule:id` (security rules).
    SecurityRuleId,
    /// `user:id`.
    UserId,
}

impl Kind {
    const NAMES: &[(Kind, &str)] = &[
        (Kind::Any, "*:*"),
        (Kind::AgentId, "agent:id"),
        (Kind::AgentGroup, "agent:group"),
        (Kind::GroupId, "group:id"),
        (Kind::NodeId, "node:id"),
        (Kind::DecoderFile, "decoder:file"),
        (Kind::ListFile, "list:file"),
        (Kind::RuleFile, "rule:file"),
        (Kind::PolicyId, "policy:id"),
        (Kind::RoleId, "role:id"),
        (Kind::SecurityRuleId, "rule:id"),
        (Kind::UserId, "user:id"),
    ];

    /// Wazuh's `<type>:<key>`.
    pub fn as_str(self) -> &'static str {
        Self::NAMES.iter().find(|(k, _)| *k == self).map_or("*:*", |(_, n)| n)
    }

    fn parse(s: &str) -> Option<Self> {
        Self::NAMES.iter().find(|(_, n)| *n == s).map(|(k, _)| *k)
    }
}

/// One `<type>:<key>:<value>` part of a pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Part {
    /// Resource type.
    pub kind: Kind,
    /// Exact value, or `None` for `*`.
    pub value: Option<String>,
}

/// A policy's resource: one part, or two joined by `&` (both must match).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pattern(Vec<Part>);

/// Characters Wazuh allows in a resource value (`[a-zA-Z0-9_.*/-]`).
fn valid_value(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.*/-".contains(&b))
}

impl std::str::FromStr for Pattern {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = if s == "*" { "*:*:*" } else { s };
        let parts = s
            .split('&')
            .map(|chunk| {
                let (kind, value) = chunk.rsplit_once(':').ok_or_else(|| format!("invalid resource '{chunk}'"))?;
                let kind = Kind::parse(kind).ok_or_else(|| format!("unknown resource type '{kind}'"))?;
                if !valid_value(value) {
                    return Err(format!("invalid resource value in '{chunk}'"));
                }
                Ok(Part { kind, value: (value != "*").then(|| value.to_owned()) })
            })
            .collect::<Result<Vec<_>, String>>()?;
        if parts.len() > 2 {
            return Err("The maximum length for permission combinations is two".into());
        }
        Ok(Self(parts))
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("&")?;
            }
            write!(f, "{}:{}", p.kind.as_str(), p.value.as_deref().unwrap_or("*"))?;
        }
        Ok(())
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// What one check is about.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A resourceless action.
    Nothing,
    /// An agent, known by id and groups.
    Agent {
        /// Three-digit (or longer) id as Wazuh prints it.
        id: &'a str,
        /// Its groups.
        groups: &'a [&'a str],
    },
    /// Any other named resource.
    Named(Kind, &'a str),
}

impl Pattern {
    /// Whether this is a single part.
    pub fn is_single(&self) -> bool {
        self.0.len() == 1
    }

    /// The parts.
    pub fn parts(&self) -> &[Part] {
        &self.0
    }

    /// Whether the pattern covers `target`. A combination (`agent:id:x&node:id:y`) covers an
    /// agent when its agent part does: vigil serves one node, or any node serves any agent.
    pub fn covers(&self, target: &Target<'_>) -> bool {
        self.0.iter().any(|part| part.covers(target))
            && self.0.iter().all(|part| part.covers(target) || part.kind == Kind::NodeId)
    }
}

impl Part {
    fn covers(&self, target: &Target<'_>) -> bool {
        let value_is = |v: &str| self.value.as_deref().is_none_or(|own| own == v);
        match (self.kind, target) {
            (Kind::Any, Target::Nothing) => true,
            (Kind::AgentId, Target::Agent { id, .. }) => value_is(id),
            (Kind::AgentGroup, Target::Agent { groups, .. }) => match &self.value {
                None => true,
                Some(g) => groups.contains(&g.as_str()),
            },
            (kind, Target::Named(k, v)) => kind == *k && value_is(v),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_parse_print_and_refuse_what_wazuh_refuses() {
        for ok in ["*:*:*", "agent:id:001", "agent:group:*", "agent:id:001&node:id:master", "decoder:file:a/b.xml"] {
            let p: Pattern = ok.parse().expect("test value");
            assert_eq!(p.to_string(), ok);
        }
        assert_eq!("*".parse::<Pattern>().expect("test value").to_string(), "*:*:*");
        for bad in ["agent", "agent:id:", "thing:id:1", "agent:id:a b", "agent:id:1&node:id:2&user:id:3"] {
            assert!(bad.parse::<Pattern>().is_err(), "{bad}");
        }
    }

    #[test]
    fn agents_are_covered_by_id_or_by_group() {
        let agent = Target::Agent { id: "001", groups: &["default", "web"] };
        let covers = |p: &str| p.parse::<Pattern>().expect("test value").covers(&agent);
        assert!(covers("agent:id:*"));
        assert!(covers("agent:id:001"));
        assert!(!covers("agent:id:002"));
        assert!(covers("agent:group:web"));
        assert!(!covers("agent:group:db"));
        assert!(!covers("*:*:*"));
        assert!(covers("agent:id:001&node:id:worker"));
        assert!("*:*:*".parse::<Pattern>().expect("test value").covers(&Target::Nothing));
        assert!(!"group:id:*".parse::<Pattern>().expect("test value").covers(&Target::Named(Kind::RuleFile, "x.xml")));
    }
}
