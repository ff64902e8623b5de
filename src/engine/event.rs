//! One event as it moves through the engine: what pre-decoding found, the decoder chosen and the
//! fields it extracted.

use std::sync::Arc;

use super::predecode::Predecoded;
use crate::ruleset::decoder::{DecoderId, DecoderType, StaticField};

/// Most dynamic fields one event holds (`analysisd.decoder_order_size`).
pub const MAX_DYNAMIC: usize = 256;

/// A decoded event.
#[derive(Debug, Clone)]
pub struct Event {
    /// Location, agent, header fields, `full_log` and `log`.
    pub pre: Predecoded,
    /// The decoder that took the event (a child, or the top-level one).
    pub decoder: Option<DecoderId>,
    /// A type set at run time by a plugin (SonicWall, OSSECAlert), overriding the decoder's.
    pub kind_override: Option<DecoderType>,
    /// Where the parent's prematch ended in `log` (set when a child prematch matched).
    pub log_after_parent: Option<isize>,
    /// Where the chosen decoder's prematch ended in `log`.
    pub log_after_prematch: Option<isize>,
    statics: [Option<String>; StaticField::ALL.len()],
    dynamic: Vec<(Arc<str>, String)>,
    /// Rule id an OSSECAlert event carries.
    pub preset_rule: Option<String>,
    /// What a FIM event shows in its alert instead of `data`.
    pub fim: Option<Box<FimView>>,
}

/// A FIM event's own parts of its alert (engine.md §7.1 and §7.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FimView {
    /// The `syscheck` object, as JSON text.
    pub json: String,
    /// The `Attributes:` block of alerts.log.
    pub text: String,
}

impl Event {
    /// A new event from pre-decoding, not yet decoded.
    pub fn new(pre: Predecoded) -> Self {
        Self {
            pre,
            decoder: None,
            kind_override: None,
            log_after_parent: None,
            log_after_prematch: None,
            statics: Default::default(),
            dynamic: Vec::new(),
            preset_rule: None,
            fim: None,
        }
    }

    /// A static field.
    pub fn get(&self, field: StaticField) -> Option<&str> {
        self.statics[field.index()].as_deref()
    }

    /// Sets a static field (the last write wins, as in Wazuh).
    pub fn set(&mut self, field: StaticField, value: String) {
        self.statics[field.index()] = Some(value);
    }

    /// Appends a dynamic field; past [`MAX_DYNAMIC`] the value is dropped. `false` when dropped.
    pub fn push_dynamic(&mut self, key: Arc<str>, value: String) -> bool {
        if self.dynamic.len() >= MAX_DYNAMIC {
            return false;
        }
        self.dynamic.push((key, value));
        true
    }

    /// The first dynamic field with this name, compared case-insensitively (Wazuh's
    /// `FindField`).
    pub fn field(&self, key: &str) -> Option<&str> {
        self.dynamic.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }

    /// Dynamic fields in extraction order.
    pub fn dynamic(&self) -> &[(Arc<str>, String)] {
        &self.dynamic
    }

    /// Number of dynamic fields.
    pub fn dynamic_len(&self) -> usize {
        self.dynamic.len()
    }

    /// The static fields that are set, in Wazuh's output order.
    pub fn statics(&self) -> impl Iterator<Item = (StaticField, &str)> {
        StaticField::ALL.into_iter().filter_map(|f| self.get(f).map(|v| (f, v)))
    }
}
