//! Pieces of `<rule>` that compile to their own checks: address lists, time and weekday.

pub mod ip;
pub mod when;
