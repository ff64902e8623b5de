//! vigil: a Wazuh-compatible security server.
//!
//! The module map follows the flow of an event (see `DESIGN.md` in the shared docs): the agent
//! store and home layout, the `ossec.conf`-compatible configuration, and the command line.
#![deny(unsafe_code)]

pub mod active_response;
pub mod api;
pub mod bench;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod email;
pub mod engine;
pub mod enroll;
pub mod hex;
pub mod home;
pub mod indexer;
pub mod integrations;
pub mod logging;
pub mod logtest;
pub mod metrics;
pub mod output;
pub mod remote;
pub mod ruleset;
pub mod secmsg;
pub mod server;
pub mod store;
pub mod sync;
pub mod tls;
pub mod web;
pub mod xml;

/// The Wazuh release vigil is compatible with: its agents, its logtest, its version checks.
pub const WAZUH_VERSION: &str = "v4.14.7";
