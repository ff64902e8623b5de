//! The agent connection service (Wazuh's remoted, protocol.md §2–4).
//!
//! Without I/O: which agent sent a message ([`keys`]), what a payload is ([`control`]), what a
//! keepalive says ([`keepalive`]), how an event is forwarded to the engine ([`event`]), what a
//! message does once opened ([`handle`]). With I/O: the per-core data plane ([`service`],
//! sharing [`core`]) with its TCP connections ([`connection`]), UDP agents ([`udp`]) and remote
//! syslog senders ([`syslog`]); status changes go to the store in batches ([`status`]); silent
//! agents are disconnected ([`monitor`]); groups' merged.mg files are built and pushed
//! ([`shared`]); one connection holds each agent ([`live`]); other threads send to agents
//! ([`commands`]), local tools through `queue/sockets/remote` ([`local`]) and active responses
//! through `queue/alerts/ar` ([`ar_queue`]); the counters are in [`stats`], with the kernel's
//! UDP drops ([`udp_drops`]).

pub mod ar_queue;
pub mod beats;
pub mod commands;
pub mod connection;
pub mod control;
pub mod core;
pub mod event;
pub mod handle;
pub mod keepalive;
pub mod keys;
pub mod live;
pub mod local;
pub mod monitor;
pub mod service;
pub mod shared;
pub mod stats;
pub mod status;
pub mod syslog;
pub mod udp;
pub mod udp_drops;
