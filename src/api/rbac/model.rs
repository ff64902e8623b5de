//! The security database: users, roles, policies, security rules, their links, the security
//! config and token revocations. It is small (dozens of entries), so it lives in memory as one
//! value and is written whole to the store on every change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::permissions::{Mode, Permissions, Rights};

/// Ids up to this are Wazuh's defaults and cannot be edited or removed.
pub const RESERVED_IDS: u32 = 99;

/// Shortest token lifetime the spec allows.
pub const MIN_TOKEN_LIFETIME: u64 = 30;

/// An API user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Numeric id.
    pub id: u32,
    /// Login name.
    pub username: String,
    /// Argon2id PHC string.
    pub password: String,
    /// May log in with an authorization context (`run_as`).
    pub allow_run_as: bool,
    /// Role ids, in order.
    pub roles: Vec<u32>,
    /// Creation time (ISO 8601).
    pub created_at: String,
}

/// A role: policies it grants, security rules that give it to run_as logins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Numeric id.
    pub id: u32,
    /// Unique name.
    pub name: String,
    /// Policy ids, in order.
    pub policies: Vec<u32>,
    /// Security rule ids.
    pub rules: Vec<u32>,
    /// Creation time.
    pub created_at: String,
}

/// A named policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Numeric id.
    pub id: u32,
    /// Unique name.
    pub name: String,
    /// What it grants or refuses.
    pub policy: Rights,
    /// Creation time.
    pub created_at: String,
}

/// A security rule: an authorization-context matcher for run_as logins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityRule {
    /// Numeric id.
    pub id: u32,
    /// Unique name.
    pub name: String,
    /// The matcher (`MATCH`, `FIND`, `AND`, …).
    pub rule: serde_json::Value,
    /// Creation time.
    pub created_at: String,
}

/// `GET /security/config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityConfig {
    /// Token lifetime in seconds.
    pub auth_token_exp_timeout: u64,
    /// White or black.
    pub rbac_mode: Mode,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self { auth_token_exp_timeout: 900, rbac_mode: Mode::White }
    }
}

/// Tokens issued before these times (Unix milliseconds) are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocations {
    /// Every token.
    pub all: i64,
    /// Per user id.
    pub users: BTreeMap<u32, i64>,
    /// Per role id.
    pub roles: BTreeMap<u32, i64>,
}

/// The whole security database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Security {
    /// Users by id.
    pub users: BTreeMap<u32, User>,
    /// Roles by id.
    pub roles: BTreeMap<u32, Role>,
    /// Policies by id.
    pub policies: BTreeMap<u32, Policy>,
    /// Security rules by id.
    pub rules: BTreeMap<u32, SecurityRule>,
    /// Token lifetime and mode.
    pub config: SecurityConfig,
    /// Revocations.
    pub revoked: Revocations,
}

/// The next id for a new entity: above the reserved range and every id in use.
pub fn next_id<T>(map: &BTreeMap<u32, T>) -> u32 {
    map.keys().next_back().map_or(RESERVED_IDS, |&last| last.max(RESERVED_IDS)) + 1
}

impl Security {
    /// The user called `name`.
    pub fn user_named(&self, name: &str) -> Option<&User> {
        self.users.values().find(|u| u.username == name)
    }

    /// The permissions a set of roles grants under the current mode.
    pub fn permissions(&self, roles: &[u32]) -> Permissions {
        let policies = roles
            .iter()
            .filter_map(|r| self.roles.get(r))
            .flat_map(|role| role.policies.iter().filter_map(|p| self.policies.get(p)))
            .map(|p| &p.policy);
        Permissions::fold(self.config.rbac_mode, policies)
    }

    /// Whether a token of `user` with `roles`, issued at `issued_ms`, has been revoked.
    pub fn is_revoked(&self, user: u32, roles: &[u32], issued_ms: i64) -> bool {
        let r = &self.revoked;
        let newest =
            roles.iter().filter_map(|role| r.roles.get(role)).chain(r.users.get(&user)).copied().fold(r.all, i64::max);
        issued_ms < newest
    }

    /// Roles given to `user`'s run_as login by the security rules that match `context`. The
    /// default rules (reserved ids) serve only the dashboard's own user, `wazuh-wui` (id 2), as
    /// in Wazuh.
    pub fn roles_for_context(&self, user: u32, context: &serde_json::Value) -> Vec<u32> {
        let applies = |r: &&SecurityRule| r.id > RESERVED_IDS || user == 2;
        self.roles
            .values()
            .filter(|role| {
                role.rules
                    .iter()
                    .filter_map(|id| self.rules.get(id))
                    .filter(applies)
                    .any(|r| super::context::matches(&r.rule, context))
            })
            .map(|role| role.id)
            .collect()
    }
}
