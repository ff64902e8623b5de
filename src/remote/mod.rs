//! The agent connection service (Wazuh's remoted, protocol.md §2–4). These parts do no I/O:
//! which agent sent a message ([`keys`]), what a payload is ([`control`]), what a keepalive
//! says ([`keepalive`]), and how an event is forwarded to the engine ([`event`]).

pub mod control;
pub mod event;
pub mod keepalive;
pub mod keys;
