//! The REST API: authentication, RBAC, the envelope and queries, each endpoint family, hostile
//! input, and the router's declarations against Wazuh's own spec.

mod agents;
mod auth;
mod bad_input;
#[path = "../common/mod.rs"]
mod common;
mod declarations;
mod groups;
mod harness;
mod manager;
mod modules;
mod queries;
mod rbac;
mod ruleset;
mod security;
mod tls;
