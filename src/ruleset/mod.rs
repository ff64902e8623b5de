//! The Wazuh ruleset: expression dialects, decoders, rules and lists, loaded unchanged.

pub mod decoder;
pub mod files;
pub mod import;
pub mod lists;
mod load;
pub mod mitre;
pub mod prefilter;
pub mod regex;
pub mod rule;

pub use load::{Problem, Ruleset, load};
