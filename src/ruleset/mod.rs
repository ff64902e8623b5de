//! The Wazuh ruleset: expression dialects, decoders, rules and lists, loaded unchanged.

pub mod regex;
