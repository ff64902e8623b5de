//! Wazuh's default users, roles, policies and security rules (from
//! `framework/wazuh/rbac/default/*.yaml`, in `defaults.json`), numbered as Wazuh numbers them.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::SecurityError;
use super::model::{Policy, Role, Security, SecurityRule, User};
use super::password;
use super::permissions::Rights;

#[derive(Deserialize)]
struct Defaults {
    users: Vec<DefaultUser>,
    roles: Vec<DefaultRole>,
    policies: Vec<DefaultPolicy>,
    rules: Vec<DefaultRule>,
}

#[derive(Deserialize)]
struct DefaultUser {
    name: String,
    allow_run_as: bool,
    roles: Vec<String>,
}

#[derive(Deserialize)]
struct DefaultRole {
    name: String,
    policies: Vec<String>,
    rules: Vec<String>,
}

#[derive(Deserialize)]
struct DefaultPolicy {
    name: String,
    policy: Rights,
}

#[derive(Deserialize)]
struct DefaultRule {
    name: String,
    rule: serde_json::Value,
}

/// Ids of `names` in `by_name`.
fn ids(names: &[String], by_name: &BTreeMap<&str, u32>) -> Vec<u32> {
    names.iter().filter_map(|n| by_name.get(n.as_str()).copied()).collect()
}

/// Numbers items from 1 in order.
fn numbered<T>(items: &[T], name: impl Fn(&T) -> &str) -> BTreeMap<&str, u32> {
    items.iter().zip(1..).map(|(item, id)| (name(item), id)).collect()
}

/// The default database, with a fresh random password for each default user.
pub fn build(now: &str) -> Result<(Security, Vec<(String, String)>), SecurityError> {
    let defaults: Defaults = serde_json::from_str(include_str!("defaults.json")).map_err(SecurityError::Corrupt)?;
    let policy_ids = numbered(&defaults.policies, |p| &p.name);
    let rule_ids = numbered(&defaults.rules, |r| &r.name);
    let role_ids = numbered(&defaults.roles, |r| &r.name);
    let mut security = Security::default();
    for (p, id) in defaults.policies.iter().zip(1..) {
        let policy = Policy { id, name: p.name.clone(), policy: p.policy.clone(), created_at: now.into() };
        security.policies.insert(id, policy);
    }
    for (r, id) in defaults.rules.iter().zip(1..) {
        security
            .rules
            .insert(id, SecurityRule { id, name: r.name.clone(), rule: r.rule.clone(), created_at: now.into() });
    }
    for (r, id) in defaults.roles.iter().zip(1..) {
        let role = Role {
            id,
            name: r.name.clone(),
            policies: ids(&r.policies, &policy_ids),
            rules: ids(&r.rules, &rule_ids),
            created_at: now.into(),
        };
        security.roles.insert(id, role);
    }
    let mut passwords = Vec::new();
    for (u, id) in defaults.users.iter().zip(1..) {
        let secret = password::generate().map_err(|e| SecurityError::Password(e.to_string()))?;
        let user = User {
            id,
            username: u.name.clone(),
            password: password::hash(&secret).map_err(SecurityError::Password)?,
            allow_run_as: u.allow_run_as,
            roles: ids(&u.roles, &role_ids),
            created_at: now.into(),
        };
        security.users.insert(id, user);
        passwords.push((u.name.clone(), secret));
    }
    Ok((security, passwords))
}

#[cfg(test)]
mod tests {
    use super::super::{Action, Target};
    use super::*;

    #[test]
    fn wazuh_defaults_are_numbered_and_linked() {
        let (security, passwords) = build("2026-01-01T00:00:00Z").expect("test value");
        assert_eq!(passwords.len(), 2);
        assert_eq!(security.users[&1].username, "wazuh");
        assert_eq!(security.users[&2].username, "wazuh-wui");
        assert_eq!(security.roles.len(), 7);
        assert_eq!(security.roles[&1].name, "administrator");
        assert_eq!(security.policies.len(), 35);
        assert_eq!(security.roles[&1].rules, vec![1, 2]);
        let admin = security.permissions(&[1]);
        assert!(admin.allows(Action::AgentDelete, &Target::Agent { id: "001", groups: &[] }));
        assert!(admin.allows(Action::SecurityCreateUser, &Target::Nothing));
        let readonly = security.permissions(&[2]);
        assert!(readonly.allows(Action::AgentRead, &Target::Agent { id: "001", groups: &[] }));
        assert!(!readonly.may(Action::AgentDelete));
        assert!(!readonly.may(Action::SecurityRead));
    }
}
