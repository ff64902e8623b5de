//! Where alerts and archived events leave the engine: the daily files of `logs/alerts` and
//! `logs/archives`, written append-only in Wazuh's layout (the durable log shippers read).

pub mod daily;
pub mod totals;
pub mod writer;
