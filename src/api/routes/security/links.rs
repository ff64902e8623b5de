//! Links between users and roles, and between roles and policies or security rules. Adding or
//! removing one revokes the tokens that carried the old set.

use std::sync::Arc;

use axum::extract::{Extension, Path, RawQuery, State};

use super::entities::rows;
use super::{LINK_EXISTS, NO_LINK, NO_POLICY, NO_ROLE, NO_RULE, NO_USER, RESERVED};
use crate::api::Api;
use crate::api::access::Principal;
use crate::api::envelope::{Affected, ItemError};
use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;
use crate::api::rbac::model::{RESERVED_IDS, Security};
use crate::api::rbac::{Action, Kind, Target};

/// Which link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    UserRoles,
    RolePolicies,
    RoleRules,
}

impl Link {
    fn child_param(self) -> &'static str {
        match self {
            Self::UserRoles => "role_ids",
            Self::RolePolicies => "policy_ids",
            Self::RoleRules => "rule_ids",
        }
    }

    fn child_kind(self) -> Kind {
        match self {
            Self::UserRoles => Kind::RoleId,
            Self::RolePolicies => Kind::PolicyId,
            Self::RoleRules => Kind::SecurityRuleId,
        }
    }

    fn parent_kind(self) -> Kind {
        if self == Self::UserRoles { Kind::UserId } else { Kind::RoleId }
    }

    fn missing_parent(self) -> ItemError {
        if self == Self::UserRoles { NO_USER } else { NO_ROLE }
    }

    fn missing_child(self) -> ItemError {
        match self {
            Self::UserRoles => NO_ROLE,
            Self::RolePolicies => NO_POLICY,
            Self::RoleRules => NO_RULE,
        }
    }

    fn child_exists(self, s: &Security, id: u32) -> bool {
        match self {
            Self::UserRoles => s.roles.contains_key(&id),
            Self::RolePolicies => s.policies.contains_key(&id),
            Self::RoleRules => s.rules.contains_key(&id),
        }
    }

    /// The parent's list of children.
    fn children(self, s: &mut Security, parent: u32) -> Option<&mut Vec<u32>> {
        match self {
            Self::UserRoles => s.users.get_mut(&parent).map(|u| &mut u.roles),
            Self::RolePolicies => s.roles.get_mut(&parent).map(|r| &mut r.policies),
            Self::RoleRules => s.roles.get_mut(&parent).map(|r| &mut r.rules),
        }
    }

    fn revoke(self, s: &mut Security, parent: u32, now: i64) {
        match self {
            Self::UserRoles => s.revoked.users.insert(parent, now),
            _ => s.revoked.roles.insert(parent, now),
        };
    }
}

fn change(
    api: &Api,
    me: &Principal,
    link: Link,
    raw_parent: &str,
    query: Option<&str>,
    add: bool,
) -> ApiResult<Affected> {
    let params = Params::accept(query, &[link.child_param(), "position"])?;
    let parent: u32 =
        raw_parent.parse().map_err(|_| ApiError::bad_request(format!("'{raw_parent}' is not a valid id")))?;
    let children = params
        .list(link.child_param())
        .ok_or_else(|| ApiError::bad_request(format!("Missing query parameter '{}'", link.child_param())))?;
    let children: Vec<u32> = children
        .iter()
        .map(|c| c.parse().map_err(|_| ApiError::bad_request(format!("'{c}' is not a valid id"))))
        .collect::<ApiResult<_>>()?;
    let position = params.get("position").map(|_| params.number("position", 0..=usize::MAX, 0)).transpose()?;
    let action = if add { Action::SecurityUpdate } else { Action::SecurityDelete };
    let mut out = if add {
        Affected::new("All links were created", "Some links were not created", "No link was created")
    } else {
        Affected::new("All links were removed", "Some links were not removed", "No link was removed")
    };
    // Permissions are checked on the ids as numbers, so `001` is `1`.
    if !me.permissions.allows(action, &Target::Named(link.parent_kind(), &parent.to_string())) {
        out.fail(ItemError::DENIED, raw_parent);
        return Ok(out);
    }
    // Wazuh's own users keep their roles, and its roles their policies and rules.
    if parent <= RESERVED_IDS {
        out.fail(RESERVED, raw_parent);
        return Ok(out);
    }
    // Linking needs the right over each role, policy or rule linked too.
    let (children, denied): (Vec<u32>, Vec<u32>) = children
        .into_iter()
        .partition(|c| me.permissions.allows(action, &Target::Named(link.child_kind(), &c.to_string())));
    for c in denied {
        out.fail(ItemError::DENIED, c.to_string());
    }
    let now = jiff::Timestamp::now().as_millisecond() + 1;
    let changed = api.security.update(|s| {
        let exists: Vec<bool> = children.iter().map(|c| link.child_exists(s, *c)).collect();
        let Some(list) = link.children(s, parent) else { return Ok(None) };
        let mut at = position.unwrap_or(list.len()).min(list.len());
        let mut any = false;
        for (child, exists) in children.iter().zip(exists) {
            match (exists, list.contains(child), add) {
                (false, ..) => out.fail(link.missing_child(), child.to_string()),
                (true, true, true) => out.fail(LINK_EXISTS, child.to_string()),
                (true, false, false) => out.fail(NO_LINK, child.to_string()),
                (true, false, true) => {
                    list.insert(at, *child);
                    at += 1;
                    any = true;
                }
                (true, true, false) => {
                    list.retain(|c| c != child);
                    any = true;
                }
            }
        }
        if any {
            link.revoke(s, parent, now);
        }
        Ok::<_, ApiError>(Some(any))
    })?;
    match changed {
        None => out.fail(link.missing_parent(), raw_parent),
        // The parent is shown when a link changed.
        Some(true) => out.extend(
            rows(&api.security.snapshot(), link.parent_kind())
                .into_iter()
                .filter(|(id, _)| *id == parent)
                .map(|(_, v)| v),
        ),
        Some(false) => {}
    }
    Ok(out)
}

macro_rules! link_routes {
    ($($name:ident, $link:expr, $add:expr;)*) => {$(
        #[doc = concat!("Link route: ", stringify!($link), ", adding: ", stringify!($add), ".")]
        pub async fn $name(
            State(api): State<Arc<Api>>,
            Extension(me): Extension<Arc<Principal>>,
            Path(parent): Path<String>,
            RawQuery(q): RawQuery,
        ) -> ApiResult<Affected> {
            change(&api, &me, $link, &parent, q.as_deref(), $add)
        }
    )*};
}

link_routes! {
    add_user_roles, Link::UserRoles, true;
    remove_user_roles, Link::UserRoles, false;
    add_role_policies, Link::RolePolicies, true;
    remove_role_policies, Link::RolePolicies, false;
    add_role_rules, Link::RoleRules, true;
    remove_role_rules, Link::RoleRules, false;
}
