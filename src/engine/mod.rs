//! The hot path: pre-decoding, decoding, rules and alerts for one event.

pub mod decode;
pub mod event;
pub mod plugins;
pub mod predecode;
