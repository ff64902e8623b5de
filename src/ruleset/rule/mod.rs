//! Pieces of `<rule>` that compile to their own checks: patterns, address lists, time and
//! weekday.

pub mod ip;
pub mod pattern;
pub mod when;
