//! A user's processed permissions: the roles' policies folded in order (Wazuh's
//! `rbac/preprocessor.py`), checked the way `rbac/decorators.py` expands them.

use serde::{Deserialize, Serialize};

use super::action::Action;
use super::resource::{Kind, Pattern, Target};

/// Whether a policy grants or refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Grants.
    Allow,
    /// Refuses.
    Deny,
}

/// `rbac_mode`: what happens to what no policy mentions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Denied unless allowed (the default).
    #[default]
    White,
    /// Allowed unless denied.
    Black,
}

impl Mode {
    /// Wazuh's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::White => "white",
            Self::Black => "black",
        }
    }
}

/// The body of a policy: actions × resources × effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rights {
    /// Actions it applies to.
    pub actions: Vec<Action>,
    /// Resources it applies to.
    pub resources: Vec<Pattern>,
    /// Allow or deny.
    pub effect: Effect,
}

/// Processed permissions, one ordered list of (resource, effect) per action.
#[derive(Debug, Clone)]
pub struct Permissions {
    mode: Mode,
    by_action: Vec<Vec<(Pattern, Effect)>>,
}

impl Permissions {
    /// Folds `policies` in order: a later entry for the same resource replaces an earlier one,
    /// and a wildcard removes the earlier single entries of its type (and of `agent:group`, as
    /// Wazuh's preprocessor does).
    pub fn fold<'a>(mode: Mode, policies: impl IntoIterator<Item = &'a Rights>) -> Self {
        let mut by_action = vec![Vec::new(); Action::ALL.len()];
        for rights in policies {
            for action in &rights.actions {
                let entries: &mut Vec<(Pattern, Effect)> = &mut by_action[action.index()];
                for pattern in &rights.resources {
                    entries.retain(|(p, _)| p != pattern && !superseded(p, pattern));
                    entries.push((pattern.clone(), rights.effect));
                }
            }
        }
        Self { mode, by_action }
    }

    /// The mode these were folded under.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether `action` on `target` is allowed: the last entry covering it decides; with none,
    /// the mode does.
    pub fn allows(&self, action: Action, target: &Target<'_>) -> bool {
        let last = self.by_action[action.index()].iter().rev().find(|(p, _)| p.covers(target));
        match last {
            Some((_, effect)) => *effect == Effect::Allow,
            None => self.mode == Mode::Black,
        }
    }

    /// Whether `action` may be allowed on anything at all (the check before a handler runs).
    pub fn may(&self, action: Action) -> bool {
        let entries = &self.by_action[action.index()];
        match self.mode {
            Mode::White => entries.iter().any(|(_, e)| *e == Effect::Allow),
            // Black: refused only when a wildcard of the action's own type is the last word.
            Mode::Black => !entries.iter().rev().take(1).any(|(p, e)| {
                *e == Effect::Deny && p.is_single() && p.parts()[0].value.is_none() && kind_fits(action, p)
            }),
        }
    }

    /// Whether `action` is allowed on every resource of its type: no entry denies anything and
    /// a wildcard (or black mode) allows the rest. Lists can then skip per-item checks.
    pub fn unrestricted(&self, action: Action) -> bool {
        let entries = &self.by_action[action.index()];
        !entries.iter().any(|(_, e)| *e == Effect::Deny)
            && (self.mode == Mode::Black
                || entries.iter().any(|(p, _)| p.is_single() && p.parts()[0].value.is_none() && kind_fits(action, p)))
    }

    /// `GET /security/users/me/policies`: `{action: {resource: effect}, …, "rbac_mode": mode}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for action in Action::ALL {
            let entries = &self.by_action[action.index()];
            if entries.is_empty() {
                continue;
            }
            let resources = entries
                .iter()
                .map(|(p, e)| {
                    (p.to_string(), serde_json::Value::from(if *e == Effect::Allow { "allow" } else { "deny" }))
                })
                .collect();
            map.insert(action.as_str().into(), serde_json::Value::Object(resources));
        }
        map.insert("rbac_mode".into(), self.mode.as_str().into());
        serde_json::Value::Object(map)
    }
}

/// Whether `pattern`'s kind is the one `action` is checked against.
fn kind_fits(action: Action, pattern: &Pattern) -> bool {
    use super::action::Scope;
    let kind = pattern.parts()[0].kind;
    match action.scope() {
        Scope::None => kind == Kind::Any,
        Scope::Agent => matches!(kind, Kind::AgentId | Kind::AgentGroup),
        _ => kind != Kind::Any,
    }
}

/// Whether a new wildcard `new` removes the earlier single entry `old`.
fn superseded(old: &Pattern, new: &Pattern) -> bool {
    let [new_part] = new.parts() else { return false };
    let [old_part] = old.parts() else { return false };
    new_part.value.is_none() && (old_part.kind == new_part.kind || old_part.kind == Kind::AgentGroup)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rights(actions: &[Action], resources: &[&str], effect: Effect) -> Rights {
        Rights {
            actions: actions.to_vec(),
            resources: resources.iter().map(|r| r.parse().expect("test value")).collect(),
            effect,
        }
    }

    #[test]
    fn the_last_covering_entry_decides() {
        let policies = [
            rights(&[Action::AgentRead], &["agent:id:*"], Effect::Allow),
            rights(&[Action::AgentRead], &["agent:group:secret"], Effect::Deny),
        ];
        let p = Permissions::fold(Mode::White, &policies);
        assert!(p.allows(Action::AgentRead, &Target::Agent { id: "001", groups: &["default"] }));
        assert!(!p.allows(Action::AgentRead, &Target::Agent { id: "002", groups: &["secret"] }));
        assert!(!p.allows(Action::AgentDelete, &Target::Agent { id: "001", groups: &[] }));
        assert!(p.may(Action::AgentRead));
        assert!(!p.may(Action::AgentDelete));
        assert!(!p.unrestricted(Action::AgentRead), "a deny restricts");
        let open = Permissions::fold(Mode::White, &policies[..1]);
        assert!(open.unrestricted(Action::AgentRead));
        assert!(!open.unrestricted(Action::AgentDelete));
    }

    #[test]
    fn a_later_wildcard_replaces_earlier_entries_of_its_type() {
        let policies = [
            rights(&[Action::AgentRead], &["agent:id:001"], Effect::Deny),
            rights(&[Action::AgentRead], &["agent:group:x"], Effect::Deny),
            rights(&[Action::AgentRead], &["agent:id:*"], Effect::Allow),
        ];
        let p = Permissions::fold(Mode::White, &policies);
        assert_eq!(p.to_json()["agent:read"], serde_json::json!({"agent:id:*": "allow"}));
        assert!(p.allows(Action::AgentRead, &Target::Agent { id: "001", groups: &["x"] }));
    }

    #[test]
    fn black_mode_allows_what_no_policy_denies() {
        let policies = [rights(&[Action::ManagerRestart], &["*:*:*"], Effect::Deny)];
        let p = Permissions::fold(Mode::Black, &policies);
        assert!(p.allows(Action::ManagerRead, &Target::Nothing));
        assert!(!p.allows(Action::ManagerRestart, &Target::Nothing));
        assert!(!p.may(Action::ManagerRestart));
        assert!(p.may(Action::AgentDelete));
        assert_eq!(p.to_json()["rbac_mode"], "black");
    }
}
