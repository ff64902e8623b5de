//! Where alerts and archived events leave the engine: the daily files of `logs/alerts` and
//! `logs/archives`, written append-only in Wazuh's layout by one writer thread ([`log`]), and
//! read from there by the shipper, integrations and active response ([`follow`], [`tail`]), each
//! keeping its place ([`consumers`]) so rotation and compression ([`compress`]) never lose or repeat a line.

pub mod alert;
pub mod compress;
pub mod consumers;
pub mod daily;
pub mod dead_letter;
pub mod follow;
pub mod log;
pub mod segments;
pub mod tail;
pub mod totals;
pub mod writer;
