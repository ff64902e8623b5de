//! Users, roles, policies and security rules: list, create, update, delete, and the caller's own
//! view (`/security/users/me[/policies]`).

use std::sync::Arc;

use axum::extract::{Extension, Path, RawQuery, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{NO_POLICY, NO_ROLE, NO_RULE, NO_USER, RESERVED, RESERVED_USER, SELF_DELETE};
use crate::api::Api;
use crate::api::access::Principal;
use crate::api::envelope::{Affected, ItemError, result};
use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;
use crate::api::query::list::{LIST_PARAMS, Listing};
use crate::api::rbac::model::{Policy, RESERVED_IDS, Role, Security, SecurityRule, User, next_id};
use crate::api::rbac::{Action, Kind, Rights, Target, password};
use crate::api::routes::extract::JsonBody;
use crate::api::routes::info::now_iso;
use crate::api::routes::pick::pick;

/// One of the four entity kinds, with its names and messages.
#[derive(Debug, Clone, Copy)]
pub struct Entity {
    kind: Kind,
    ids: &'static str,
    missing: ItemError,
    listed: [&'static str; 3],
    deleted: [&'static str; 3],
}

/// Users.
pub const USERS: Entity = Entity {
    kind: Kind::UserId,
    ids: "user_ids",
    missing: NO_USER,
    listed: ["All specified users were returned", "Some users were not returned", "No user was returned"],
    deleted: ["Users were successfully deleted", "Some users were not deleted", "No user was deleted"],
};
/// Roles.
pub const ROLES: Entity = Entity {
    kind: Kind::RoleId,
    ids: "role_ids",
    missing: NO_ROLE,
    listed: ["All specified roles were returned", "Some roles were not returned", "No role was returned"],
    deleted: ["All specified roles were deleted", "Some roles were not deleted", "No role was deleted"],
};
/// Policies.
pub const POLICIES: Entity = Entity {
    kind: Kind::PolicyId,
    ids: "policy_ids",
    missing: NO_POLICY,
    listed: ["All specified policies were returned", "Some policies were not returned", "No policy was returned"],
    deleted: ["All specified policies were deleted", "Some policies were not deleted", "No policy was deleted"],
};
/// Security rules.
pub const RULES: Entity = Entity {
    kind: Kind::SecurityRuleId,
    ids: "rule_ids",
    missing: NO_RULE,
    listed: [
        "All specified security rules were returned",
        "Some security rules were not returned",
        "No security rule was returned",
    ],
    deleted: [
        "All specified security rules were deleted",
        "Some security rules were not deleted",
        "No security rule was deleted",
    ],
};

fn roles_with(s: &Security, has: impl Fn(&Role) -> bool) -> Vec<u32> {
    s.roles.values().filter(|r| has(r)).map(|r| r.id).collect()
}

/// A user as the API shows it (never the hash).
pub fn user_json(u: &User) -> Value {
    json!({"id": u.id, "username": u.username, "allow_run_as": u.allow_run_as, "roles": u.roles})
}

/// Every entity of a kind as the API shows it, by id.
pub fn rows(s: &Security, which: Kind) -> Vec<(u32, Value)> {
    match which {
        Kind::UserId => s.users.values().map(|u| (u.id, user_json(u))).collect(),
        Kind::RoleId => s
            .roles
            .values()
            .map(|r| {
                let users: Vec<u32> = s.users.values().filter(|u| u.roles.contains(&r.id)).map(|u| u.id).collect();
                (r.id, json!({"id": r.id, "name": r.name, "policies": r.policies, "users": users, "rules": r.rules}))
            })
            .collect(),
        Kind::PolicyId => s
            .policies
            .values()
            .map(|p| {
                let roles = roles_with(s, |r| r.policies.contains(&p.id));
                (p.id, json!({"id": p.id, "name": p.name, "policy": p.policy, "roles": roles}))
            })
            .collect(),
        _ => s
            .rules
            .values()
            .map(|r| {
                let roles = roles_with(s, |role| role.rules.contains(&r.id));
                (r.id, json!({"id": r.id, "name": r.name, "rule": r.rule, "roles": roles}))
            })
            .collect(),
    }
}

/// Whether the caller may `action` the entity `id` of `kind`.
fn may(me: &Principal, action: Action, kind: Kind, id: u32) -> bool {
    me.permissions.allows(action, &Target::Named(kind, &id.to_string()))
}

/// Ids named in `param`, refused with 400 when not numbers (`all` passes through).
fn named_ids(params: &Params, param: &str) -> ApiResult<Option<Vec<String>>> {
    let Some(ids) = params.list(param) else { return Ok(None) };
    if let Some(bad) = ids.iter().find(|id| *id != "all" && id.parse::<u32>().is_err()) {
        return Err(ApiError::bad_request(format!("'{bad}' is not a valid id ({param})")));
    }
    Ok(Some(ids))
}

async fn list(api: &Api, me: &Principal, query: Option<&str>, which: Entity) -> ApiResult<Affected> {
    let params = Params::accept(query, &[LIST_PARAMS, &[which.ids]].concat())?;
    let listing = Listing::from_params(&params)?;
    let named = named_ids(&params, which.ids)?;
    let mut out = Affected::new(which.listed[0], which.listed[1], which.listed[2]);
    let all = rows(&api.security.snapshot(), which.kind).into_iter().map(|(id, v)| (id.to_string(), (id, v)));
    let chosen =
        pick(named.as_deref(), all, |(id, _)| may(me, Action::SecurityRead, which.kind, *id), which.missing, &mut out);
    let (page, total) = listing.apply(chosen.into_iter().map(|(_, v)| v).collect(), &["id"])?;
    Ok(out.page(page, total))
}

/// `GET /security/users`.
pub async fn list_users(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    list(&api, &me, q.as_deref(), USERS).await
}
/// `GET /security/roles`.
pub async fn list_roles(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    list(&api, &me, q.as_deref(), ROLES).await
}
/// `GET /security/policies`.
pub async fn list_policies(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    list(&api, &me, q.as_deref(), POLICIES).await
}
/// `GET /security/rules`.
pub async fn list_rules(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    list(&api, &me, q.as_deref(), RULES).await
}

/// `GET /security/users/me`.
pub async fn me(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    Params::accept(q.as_deref(), &[])?;
    let security = api.security.snapshot();
    let user = security.users.get(&me.user_id).ok_or_else(|| ApiError::unauthorized("Invalid token"))?;
    let mut view = user_json(user);
    // The roles in force are the token's (run_as logins get theirs from security rules).
    view["roles"] =
        me.roles.iter().filter_map(|id| security.roles.get(id)).map(|r| json!({"id": r.id, "name": r.name})).collect();
    let mut out = Affected::new("Current user information was returned", "", "");
    out.push(view);
    Ok(out)
}

/// `GET /security/users/me/policies`.
pub async fn my_policies(
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<axum::Json<Value>> {
    Params::accept(q.as_deref(), &[])?;
    Ok(result(me.permissions.to_json(), Some("Current user processed policies information was returned")))
}

/// A name Wazuh accepts (`names` format): letters, digits, `_`, `-`, `.`.
fn check_name(name: &str, min: usize) -> ApiResult<()> {
    let ok = (min..=64).contains(&name.chars().count())
        && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.');
    if ok { Ok(()) } else { Err(ApiError::bad_request(format!("'{name}' is not a valid name"))) }
}

/// Refuses a name (or body) already taken: 4009 for policies, 4005 for roles and rules.
fn unique(taken: bool, kind: Kind) -> ApiResult<()> {
    match (taken, kind) {
        (false, _) => Ok(()),
        (true, Kind::PolicyId) => Err(ApiError::wazuh(4009, "The specified name or policy already exists")),
        (true, _) => Err(ApiError::wazuh(4005, "The specified name or rule already exists")),
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond() + 1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    username: String,
    password: String,
}

/// `POST /security/users`.
pub async fn create_user(State(api): State<Arc<Api>>, JsonBody(new): JsonBody<NewUser>) -> ApiResult<Affected> {
    check_name(&new.username, 4)?;
    password::check_policy(&new.password).map_err(|w| ApiError::wazuh(w.code(), w.to_string()))?;
    let pw = new.password;
    let hash = tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let user = api.security.update(|s| {
        if s.user_named(&new.username).is_some() {
            return Err(ApiError::wazuh(5000, "The user could not be created"));
        }
        let id = next_id(&s.users);
        let user = User {
            id,
            username: new.username,
            password: hash,
            allow_run_as: false,
            roles: vec![],
            created_at: now_iso(),
        };
        s.users.insert(id, user.clone());
        Ok(user)
    })?;
    let mut out = Affected::new("User was successfully created", "", "User could not be created");
    out.push(user_json(&user));
    Ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    password: String,
}

fn path_id(raw: &str) -> ApiResult<u32> {
    raw.parse().map_err(|_| ApiError::bad_request(format!("'{raw}' is not a valid id")))
}

/// `PUT /security/users/{user_id}`: a new password; the user's tokens stop working.
pub async fn update_user(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    Path(user_id): Path<String>,
    JsonBody(change): JsonBody<UserChange>,
) -> ApiResult<Affected> {
    let id = path_id(&user_id)?;
    let mut out = Affected::new("User was successfully updated", "", "User could not be updated");
    if !may(&me, Action::SecurityUpdate, Kind::UserId, id) {
        out.fail(ItemError::DENIED, user_id);
        return Ok(out);
    }
    if id <= RESERVED_IDS && id != me.user_id {
        return Err(ApiError::wazuh(5011, "Administrator users can only be modified by themselves"));
    }
    password::check_policy(&change.password).map_err(|w| ApiError::wazuh(w.code(), w.to_string()))?;
    let pw = change.password;
    let hash = tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let updated = api.security.update(|s| {
        let Some(user) = s.users.get_mut(&id) else { return Ok(None) };
        user.password = hash;
        let view = user_json(user);
        s.revoked.users.insert(id, now_ms());
        Ok::<_, ApiError>(Some(view))
    })?;
    match updated {
        Some(view) => out.push(view),
        None => out.fail(NO_USER, user_id),
    }
    Ok(out)
}

/// `PUT /security/users/{user_id}/run_as?allow_run_as=`.
pub async fn set_run_as(
    State(api): State<Arc<Api>>,
    Path(user_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    let params = Params::accept(q.as_deref(), &["allow_run_as"])?;
    let allow = params.flag("allow_run_as", false)?;
    let id = path_id(&user_id)?;
    let mut out = Affected::new(
        "Parameter allow_run_as has been enabled for the user",
        "",
        "Parameter allow_run_as could not be enabled for the user",
    );
    let updated = api.security.update(|s| {
        if id <= RESERVED_IDS {
            return Ok(Err(RESERVED_USER));
        }
        let Some(user) = s.users.get_mut(&id) else { return Ok(Err(NO_USER)) };
        user.allow_run_as = allow;
        let view = user_json(user);
        s.revoked.users.insert(id, now_ms());
        Ok::<_, ApiError>(Ok(view))
    })?;
    match updated {
        Ok(view) => out.push(view),
        Err(e) => out.fail(e, user_id),
    }
    Ok(out)
}

/// Deletes the named entities of a kind; reserved ones and the caller refuse.
fn delete(api: &Api, me: &Principal, query: Option<&str>, which: Entity) -> ApiResult<Affected> {
    let params = Params::accept(query, &[which.ids])?;
    let named = named_ids(&params, which.ids)?
        .ok_or_else(|| ApiError::bad_request(format!("Missing query parameter '{}'", which.ids)))?;
    let mut out = Affected::new(which.deleted[0], which.deleted[1], which.deleted[2]);
    let now = now_ms();
    api.security.update(|s| {
        let all = rows(s, which.kind).into_iter().map(|(id, v)| (id.to_string(), (id, v)));
        let chosen = pick(
            Some(&named),
            all,
            |(id, _)| may(me, Action::SecurityDelete, which.kind, *id),
            which.missing,
            &mut out,
        );
        for (id, view) in chosen {
            if id <= RESERVED_IDS {
                out.fail(if which.kind == Kind::UserId { RESERVED_USER } else { RESERVED }, id.to_string());
                continue;
            }
            if which.kind == Kind::UserId && id == me.user_id {
                out.fail(SELF_DELETE, id.to_string());
                continue;
            }
            remove(s, which.kind, id, now);
            out.push(view);
        }
        Ok::<_, ApiError>(())
    })?;
    Ok(out)
}

/// Removes an entity and every link to it; tokens that depended on it stop working.
fn remove(s: &mut Security, kind: Kind, id: u32, now: i64) {
    match kind {
        Kind::UserId => {
            s.users.remove(&id);
            s.revoked.users.insert(id, now);
        }
        Kind::RoleId => {
            s.roles.remove(&id);
            s.revoked.roles.insert(id, now);
            s.users.values_mut().for_each(|u| u.roles.retain(|r| *r != id));
        }
        Kind::PolicyId => {
            s.policies.remove(&id);
            for role in s.roles.values_mut().filter(|r| r.policies.contains(&id)) {
                role.policies.retain(|p| *p != id);
                s.revoked.roles.insert(role.id, now);
            }
        }
        _ => {
            s.rules.remove(&id);
            for role in s.roles.values_mut().filter(|r| r.rules.contains(&id)) {
                role.rules.retain(|p| *p != id);
                s.revoked.roles.insert(role.id, now);
            }
        }
    }
}

/// `DELETE /security/users`.
pub async fn delete_users(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    delete(&api, &me, q.as_deref(), USERS)
}
/// `DELETE /security/roles`.
pub async fn delete_roles(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    delete(&api, &me, q.as_deref(), ROLES)
}
/// `DELETE /security/policies`.
pub async fn delete_policies(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    delete(&api, &me, q.as_deref(), POLICIES)
}
/// `DELETE /security/rules`.
pub async fn delete_rules(
    State(api): State<Arc<Api>>,
    Extension(me): Extension<Arc<Principal>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Affected> {
    delete(&api, &me, q.as_deref(), RULES)
}

/// The body of role, policy and rule requests (`name`, and `policy` or `rule`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Named {
    name: Option<String>,
    policy: Option<Rights>,
    rule: Option<Value>,
}

fn checked(named: Named) -> ApiResult<Named> {
    if let Some(name) = &named.name {
        check_name(name, 1)?;
    }
    if named.rule.as_ref().is_some_and(|r| !r.is_object()) {
        return Err(ApiError::bad_request("'rule' must be an object"));
    }
    if named.policy.as_ref().is_some_and(|p| p.actions.is_empty() || p.resources.is_empty()) {
        return Err(ApiError::wazuh(4006, "The specified policy is invalid"));
    }
    Ok(named)
}

/// Creates an entity of `which` from `named`.
fn create(api: &Api, which: Entity, named: Named) -> ApiResult<Affected> {
    let name = named.name.ok_or_else(|| ApiError::bad_request("'name' is a required property"))?;
    let created = api.security.update(|s| -> ApiResult<u32> {
        let now = now_iso();
        match which.kind {
            Kind::RoleId => {
                unique(s.roles.values().any(|r| r.name == name), Kind::RoleId)?;
                let id = next_id(&s.roles);
                s.roles.insert(id, Role { id, name, policies: vec![], rules: vec![], created_at: now });
                Ok(id)
            }
            Kind::PolicyId => {
                let policy = named.policy.ok_or_else(|| ApiError::bad_request("'policy' is a required property"))?;
                unique(s.policies.values().any(|p| p.name == name || p.policy == policy), Kind::PolicyId)?;
                let id = next_id(&s.policies);
                s.policies.insert(id, Policy { id, name, policy, created_at: now });
                Ok(id)
            }
            _ => {
                let rule = named.rule.ok_or_else(|| ApiError::bad_request("'rule' is a required property"))?;
                unique(s.rules.values().any(|r| r.name == name || r.rule == rule), Kind::SecurityRuleId)?;
                let id = next_id(&s.rules);
                s.rules.insert(id, SecurityRule { id, name, rule, created_at: now });
                Ok(id)
            }
        }
    })?;
    let mut out = Affected::new("Entity was successfully created", "", "Entity could not be created");
    out.extend(rows(&api.security.snapshot(), which.kind).into_iter().filter(|(id, _)| *id == created).map(|(_, v)| v));
    Ok(out)
}

/// Changes an entity of `which`; roles that depended on it have their tokens revoked.
fn update(api: &Api, me: &Principal, which: Entity, raw_id: &str, named: Named) -> ApiResult<Affected> {
    let id = path_id(raw_id)?;
    let mut out = Affected::new("Entity was successfully updated", "", "Entity could not be updated");
    if !may(me, Action::SecurityUpdate, which.kind, id) {
        out.fail(ItemError::DENIED, raw_id);
        return Ok(out);
    }
    if id <= RESERVED_IDS {
        out.fail(RESERVED, raw_id);
        return Ok(out);
    }
    if named.name.is_none() && named.policy.is_none() && named.rule.is_none() {
        return Err(ApiError::wazuh(
            4001,
            "The body of the request is empty, you must specify what you want to modify",
        ));
    }
    let now = now_ms();
    let found = api.security.update(|s| {
        let taken = |names: Vec<&str>| named.name.as_deref().is_some_and(|n| names.contains(&n));
        let dependants = match which.kind {
            Kind::RoleId => {
                unique(
                    taken(s.roles.values().filter(|r| r.id != id).map(|r| r.name.as_str()).collect()),
                    Kind::RoleId,
                )?;
                let Some(role) = s.roles.get_mut(&id) else { return Ok(false) };
                role.name = named.name.clone().unwrap_or_else(|| role.name.clone());
                vec![id]
            }
            Kind::PolicyId => {
                unique(
                    taken(s.policies.values().filter(|p| p.id != id).map(|p| p.name.as_str()).collect()),
                    Kind::PolicyId,
                )?;
                let Some(policy) = s.policies.get_mut(&id) else { return Ok(false) };
                if let Some(name) = named.name.clone() {
                    policy.name = name;
                }
                if let Some(rights) = named.policy.clone() {
                    policy.policy = rights;
                }
                roles_with(s, |r| r.policies.contains(&id))
            }
            _ => {
                unique(
                    taken(s.rules.values().filter(|r| r.id != id).map(|r| r.name.as_str()).collect()),
                    Kind::SecurityRuleId,
                )?;
                let Some(rule) = s.rules.get_mut(&id) else { return Ok(false) };
                if let Some(name) = named.name.clone() {
                    rule.name = name;
                }
                if let Some(r) = named.rule.clone() {
                    rule.rule = r;
                }
                roles_with(s, |r| r.rules.contains(&id))
            }
        };
        for role in dependants {
            s.revoked.roles.insert(role, now);
        }
        Ok::<_, ApiError>(true)
    })?;
    if found {
        out.extend(rows(&api.security.snapshot(), which.kind).into_iter().filter(|(i, _)| *i == id).map(|(_, v)| v));
    } else {
        out.fail(which.missing, raw_id);
    }
    Ok(out)
}

macro_rules! create_and_update {
    ($($create:ident, $update:ident, $which:expr;)*) => {$(
        #[doc = concat!("`POST` for ", stringify!($which), ".")]
        pub async fn $create(State(api): State<Arc<Api>>, JsonBody(named): JsonBody<Named>) -> ApiResult<Affected> {
            create(&api, $which, checked(named)?)
        }

        #[doc = concat!("`PUT …/{id}` for ", stringify!($which), ".")]
        pub async fn $update(
            State(api): State<Arc<Api>>,
            Extension(me): Extension<Arc<Principal>>,
            Path(id): Path<String>,
            JsonBody(named): JsonBody<Named>,
        ) -> ApiResult<Affected> {
            update(&api, &me, $which, &id, checked(named)?)
        }
    )*};
}

create_and_update! {
    create_role, update_role, ROLES;
    create_policy, update_policy, POLICIES;
    create_rule, update_rule, RULES;
}
