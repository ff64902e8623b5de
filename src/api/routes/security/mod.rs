//! `/security/*`: logging in and out, the caller's own view, and the RBAC database (users,
//! roles, policies, security rules, their links, the security config).

mod config;
mod entities;
mod links;
mod login;

use axum::http::Method;

use crate::api::access::{Access, Routes};
use crate::api::envelope::ItemError;
use crate::api::rbac::Action::*;

/// Adds the routes.
pub fn add(routes: Routes) -> Routes {
    routes
        .add(Method::POST, "/security/user/authenticate", Access::Login, login::authenticate)
        .add(Method::GET, "/security/user/authenticate", Access::Login, login::authenticate)
        .add(Method::DELETE, "/security/user/authenticate", Access::Token, login::logout)
        .add(Method::POST, "/security/user/authenticate/run_as", Access::Login, login::run_as)
        .add(Method::PUT, "/security/user/revoke", Access::Actions(&[SecurityRevoke]), login::revoke_all)
        .add(Method::GET, "/security/users/me", Access::Token, entities::me)
        .add(Method::GET, "/security/users/me/policies", Access::Token, entities::my_policies)
        .add(Method::GET, "/security/actions", Access::Token, config::actions)
        .add(Method::GET, "/security/resources", Access::Token, config::resources)
        .add(Method::GET, "/security/config", Access::Actions(&[SecurityReadConfig]), config::get)
        .add(Method::PUT, "/security/config", Access::Actions(&[SecurityUpdateConfig]), config::put)
        .add(Method::DELETE, "/security/config", Access::Actions(&[SecurityUpdateConfig]), config::reset)
        .add(Method::GET, "/security/users", Access::Actions(&[SecurityRead]), entities::list_users)
        .add(Method::POST, "/security/users", Access::Actions(&[SecurityCreateUser]), entities::create_user)
        .add(Method::DELETE, "/security/users", Access::Actions(&[SecurityDelete]), entities::delete_users)
        .add(Method::PUT, "/security/users/{user_id}", Access::Actions(&[SecurityUpdate]), entities::update_user)
        .add(
            Method::PUT,
            "/security/users/{user_id}/run_as",
            Access::Actions(&[SecurityEditRunAs]),
            entities::set_run_as,
        )
        .add(Method::GET, "/security/roles", Access::Actions(&[SecurityRead]), entities::list_roles)
        .add(Method::POST, "/security/roles", Access::Actions(&[SecurityCreate]), entities::create_role)
        .add(Method::DELETE, "/security/roles", Access::Actions(&[SecurityDelete]), entities::delete_roles)
        .add(Method::PUT, "/security/roles/{role_id}", Access::Actions(&[SecurityUpdate]), entities::update_role)
        .add(Method::GET, "/security/policies", Access::Actions(&[SecurityRead]), entities::list_policies)
        .add(Method::POST, "/security/policies", Access::Actions(&[SecurityCreate]), entities::create_policy)
        .add(Method::DELETE, "/security/policies", Access::Actions(&[SecurityDelete]), entities::delete_policies)
        .add(Method::PUT, "/security/policies/{policy_id}", Access::Actions(&[SecurityUpdate]), entities::update_policy)
        .add(Method::GET, "/security/rules", Access::Actions(&[SecurityRead]), entities::list_rules)
        .add(Method::POST, "/security/rules", Access::Actions(&[SecurityCreate]), entities::create_rule)
        .add(Method::DELETE, "/security/rules", Access::Actions(&[SecurityDelete]), entities::delete_rules)
        .add(Method::PUT, "/security/rules/{rule_id}", Access::Actions(&[SecurityUpdate]), entities::update_rule)
        .add(Method::POST, "/security/users/{user_id}/roles", Access::Actions(&[SecurityUpdate]), links::add_user_roles)
        .add(
            Method::DELETE,
            "/security/users/{user_id}/roles",
            Access::Actions(&[SecurityDelete]),
            links::remove_user_roles,
        )
        .add(
            Method::POST,
            "/security/roles/{role_id}/policies",
            Access::Actions(&[SecurityUpdate]),
            links::add_role_policies,
        )
        .add(
            Method::DELETE,
            "/security/roles/{role_id}/policies",
            Access::Actions(&[SecurityDelete]),
            links::remove_role_policies,
        )
        .add(Method::POST, "/security/roles/{role_id}/rules", Access::Actions(&[SecurityUpdate]), links::add_role_rules)
        .add(
            Method::DELETE,
            "/security/roles/{role_id}/rules",
            Access::Actions(&[SecurityDelete]),
            links::remove_role_rules,
        )
}

const fn item_error(code: u32, message: &'static str) -> ItemError {
    ItemError { code, message, remediation: None }
}

/// 5001.
pub const NO_USER: ItemError = item_error(5001, "The user does not exist");
/// 4002.
pub const NO_ROLE: ItemError = item_error(4002, "The specified role does not exist");
/// 4007.
pub const NO_POLICY: ItemError = item_error(4007, "The specified policy does not exist");
/// 4022.
pub const NO_RULE: ItemError = item_error(4022, "The specified security rule does not exist");
/// 4008: Wazuh's own entries stay.
pub const RESERVED: ItemError =
    item_error(4008, "The specified resource is required for a correct Wazuh's functionality");
/// 5004: Wazuh's own users stay.
pub const RESERVED_USER: ItemError = item_error(5004, "The user could not be removed or updated");
/// 5008: nobody deletes themselves.
pub const SELF_DELETE: ItemError = item_error(5008, "The current user cannot be deleted");
/// 4017 / 4011 / 4023: the link exists.
pub const LINK_EXISTS: ItemError = item_error(4017, "The specified relation already exists");
/// 4016 / 4010 / 4024: the link does not exist.
pub const NO_LINK: ItemError = item_error(4016, "The specified relation does not exist");
