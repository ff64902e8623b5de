//! The decoder tree: two top-level lists and the children under each top-level node.

use std::sync::Arc;

use super::parse::DecoderError;
use super::{Builtin, Decoder, Offset};

/// Index of a decoder in a [`DecoderSet`].
pub type DecoderId = usize;

/// A top-level decoder and its children, in load order.
#[derive(Debug, Clone)]
pub struct Node {
    /// The top-level decoder.
    pub decoder: DecoderId,
    /// Its children (shared with other top-level nodes of the same name).
    pub children: Vec<DecoderId>,
}

/// Every loaded decoder and the two lists an event can walk.
#[derive(Debug, Clone, Default)]
pub struct DecoderSet {
    decoders: Vec<Decoder>,
    /// Top-level decoders with a `<program_name>`.
    pub with_program: Vec<Node>,
    /// Top-level decoders without one.
    pub without_program: Vec<Node>,
    /// The built-in module decoders, in [`Builtin::ALL`]'s order (outside both lists).
    builtins: Vec<DecoderId>,
}

impl DecoderSet {
    /// The decoder with this id.
    pub fn get(&self, id: DecoderId) -> &Decoder {
        &self.decoders[id]
    }

    /// The id of built-in decoder `b`, registered by [`DecoderSet::add_builtins`].
    pub fn builtin(&self, b: Builtin) -> Option<DecoderId> {
        self.builtins.get(b.index()).copied()
    }

    /// Registers the built-in module decoders (once, after the XML ones).
    pub fn add_builtins(&mut self) {
        if self.builtins.is_empty() {
            for b in Builtin::ALL {
                self.builtins.push(self.decoders.len());
                self.decoders.push(b.decoder());
            }
        }
    }

    /// Every decoder in load order.
    pub fn all(&self) -> &[Decoder] {
        &self.decoders
    }

    /// Number of decoders.
    pub fn len(&self) -> usize {
        self.decoders.len()
    }

    /// Whether no decoder is loaded.
    pub fn is_empty(&self) -> bool {
        self.decoders.is_empty()
    }

    /// Adds a decoder as Wazuh's `OS_AddOSDecoder` does; a child must find its parent among the
    /// top-level decoders loaded so far.
    pub fn add(&mut self, decoder: Decoder) -> Result<(), DecoderError> {
        let error = |d: &Decoder, message: String| DecoderError {
            file: d.file.clone(),
            line: d.line,
            decoder: Some(d.own_name.to_string()),
            message,
            warning: false,
        };
        let Some(parent) = decoder.parent.clone() else {
            if decoder.regex_offset == Offset::AfterRegex {
                return Err(error(&decoder, format!("(2120): Invalid offset value: '{}'", decoder.own_name)));
            }
            let id = self.decoders.len();
            let list = if decoder.program_name.is_some() { &mut self.with_program } else { &mut self.without_program };
            list.push(Node { decoder: id, children: Vec::new() });
            self.decoders.push(decoder);
            return Ok(());
        };
        // Check every parent node first so a refused child changes nothing.
        let parents: Vec<(bool, usize)> = self
            .with_program
            .iter()
            .enumerate()
            .map(|(i, n)| (true, i, n))
            .chain(self.without_program.iter().enumerate().map(|(i, n)| (false, i, n)))
            .filter(|(_, _, n)| *self.decoders[n.decoder].own_name == *parent)
            .map(|(pn, i, _)| (pn, i))
            .collect();
        if parents.is_empty() {
            return Err(error(&decoder, format!("(2101): Parent decoder name invalid: '{parent}'.")));
        }
        let mut chained: Vec<DecoderId> = Vec::new();
        for &(pn, i) in &parents {
            let node = if pn { &self.with_program[i] } else { &self.without_program[i] };
            let mut earlier_has_pattern = false;
            for &sibling in &node.children {
                let s = &self.decoders[sibling];
                if *s.own_name != *decoder.own_name {
                    continue;
                }
                if (s.prematch.is_some() || s.regex.is_some()) && decoder.regex_offset != Offset::Start {
                    earlier_has_pattern = true;
                }
                if decoder.prematch.is_some() {
                    return Err(error(
                        &decoder,
                        format!("(2102): Duplicated decoder with prematch: '{}'.", decoder.own_name),
                    ));
                }
                if !decoder.fts.is_empty() {
                    return Err(error(
                        &decoder,
                        format!("(2103): Duplicated decoder with fts set: '{}'.", decoder.own_name),
                    ));
                }
                let chains =
                    (s.regex.is_some() || s.plugin.is_some()) && (decoder.regex.is_some() || decoder.plugin.is_some());
                if !chains {
                    return Err(error(
                        &decoder,
                        format!("(2104): Invalid duplicated decoder: '{}'.", decoder.own_name),
                    ));
                }
                chained.push(sibling);
            }
            if decoder.regex_offset == Offset::AfterRegex && !earlier_has_pattern {
                return Err(error(&decoder, format!("(2120): Invalid offset value: '{}'", decoder.own_name)));
            }
        }
        for sibling in chained {
            self.decoders[sibling].get_next = true;
        }
        let id = self.decoders.len();
        let mut decoder = decoder;
        if !decoder.use_own_name {
            decoder.name = Arc::clone(&parent);
        }
        self.decoders.push(decoder);
        for (pn, i) in parents {
            let node = if pn { &mut self.with_program[i] } else { &mut self.without_program[i] };
            node.children.push(id);
        }
        Ok(())
    }
}
