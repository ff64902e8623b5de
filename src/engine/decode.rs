//! Decoding: walking the decoder tree for one event, as analysisd's `DecodeEvent` does.
//!
//! Positions (`pmatch`, `cmatch`, the previous regex end) are byte offsets into `log`, kept as
//! `isize` because Wazuh's end pointers can sit one byte before the text. Reading "the C string
//! at a position" past the end gives `""`, and before the start gives `""` too (Wazuh reads the
//! NUL that precedes `log` there).

use super::event::Event;
use super::plugins;
use crate::ruleset::decoder::{DecoderId, DecoderSet, Node, Offset, Slot};
use crate::ruleset::regex::{Haystack, Subject};

/// The text of `log` from `pos` on.
fn from(log: &str, pos: isize) -> &str {
    usize::try_from(pos).ok().and_then(|p| log.get(p..)).unwrap_or_default()
}

/// The subject from `pos` on, like [`from`].
fn suffix<'t, 'l>(subject: &Subject<'t, 'l>, pos: isize) -> Subject<'t, 'l> {
    subject.suffix(usize::try_from(pos).unwrap_or(usize::MAX))
}

/// The byte at `pos` (NUL outside the text).
fn at(log: &str, pos: isize) -> u8 {
    usize::try_from(pos).ok().and_then(|p| log.as_bytes().get(p)).copied().unwrap_or(0)
}

/// Wazuh's "next character": one past `end`, unless `end` is on the terminating NUL.
fn after(log: &str, end: isize) -> isize {
    if at(log, end) != 0 { end + 1 } else { end }
}

/// Counts of work done, for the prefilter report.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tried {
    /// Top-level decoders whose program name and prematch were evaluated.
    pub top_level: u32,
}

/// What decoding asks of its surroundings.
pub trait Hooks {
    /// Whether top-level decoder `id` may match this event's `log`. A prefilter answers `false`
    /// only for decoders whose prematch cannot match; the default tries them all.
    fn may_match(&self, _id: DecoderId) -> bool {
        true
    }

    /// Whether the `position`-th node of the program-name list matches the event's program name,
    /// when already known.
    fn program_matches(&self, _position: usize) -> Option<bool> {
        None
    }

    /// Whether a rule id is loaded (the OSSECAlert plugin needs it).
    fn rule_exists(&self, _id: &str) -> bool {
        false
    }
}

/// No prefilter and no rules.
pub struct NoHooks;

impl Hooks for NoHooks {}

/// Decodes `event` with `set`.
pub fn decode(set: &DecoderSet, event: &mut Event, hooks: &dyn Hooks) -> Tried {
    with_log(event, |event, log| {
        let haystack = Haystack::new(log.as_bytes());
        decode_log(set, event, log, &haystack.subject(), hooks)
    })
}

/// Runs `f` with the event's `log` taken out (so it can be borrowed while the event is filled),
/// then puts back the log `f` returns as rewritten, or the original.
pub fn with_log<T>(event: &mut Event, f: impl FnOnce(&mut Event, &str) -> (T, Option<String>)) -> T {
    let log = std::mem::take(&mut event.pre.log);
    let (value, rewritten) = f(event, &log);
    event.pre.log = rewritten.unwrap_or(log);
    value
}

/// Decodes `event` whose `log` the caller holds (taken out of the event, so hooks can borrow
/// it), with `subject` made from that log once for every pattern tried on it. Returns the work
/// done and the log a plugin rewrote, if any.
pub fn decode_log(
    set: &DecoderSet,
    event: &mut Event,
    log: &str,
    subject: &Subject<'_, '_>,
    hooks: &dyn Hooks,
) -> (Tried, Option<String>) {
    let mut tried = Tried::default();
    let subject = *subject;
    let list = if event.pre.program_name.is_some() { &set.with_program } else { &set.without_program };
    for (position, node) in list.iter().enumerate() {
        let top = set.get(node.decoder);
        let mut pmatch: isize = 0;
        if let Some(program) = event.pre.program_name.as_deref() {
            let matches = hooks
                .program_matches(position)
                .unwrap_or_else(|| top.program_name.as_ref().is_some_and(|e| e.is_match(program.as_bytes())));
            if !matches {
                continue;
            }
        }
        if let Some(prematch) = &top.prematch {
            if !hooks.may_match(node.decoder) {
                continue;
            }
            tried.top_level += 1;
            match prematch.find_in(subject) {
                Some(m) => pmatch = after(log, m.end),
                None => continue,
            }
        } else {
            tried.top_level += 1;
        }
        event.decoder = Some(node.decoder);
        event.log_after_prematch = Some(pmatch);
        return (tried, extract(set, node, log, &subject, pmatch, event, hooks));
    }
    (tried, None)
}

/// Chooses the child (step 5 of `DecodeEvent`) and runs the extraction chain (step 6). Returns a
/// replacement log when a plugin rewrote the event.
fn extract(
    set: &DecoderSet,
    node: &Node,
    log: &str,
    subject: &Subject<'_, '_>,
    pmatch: isize,
    event: &mut Event,
    hooks: &dyn Hooks,
) -> Option<String> {
    let single = [node.decoder];
    let (chain, cmatch): (&[DecoderId], isize) = if node.children.is_empty() {
        (&single, pmatch)
    } else {
        let children = &node.children;
        let mut i = 0;
        let mut chosen = None;
        while i < children.len() {
            let child = set.get(children[i]);
            let Some(prematch) = &child.prematch else {
                // No prematch: chosen at once, but the event keeps reporting the parent.
                chosen = Some((i, pmatch));
                break;
            };
            let start = if child.prematch_offset == Offset::AfterParent { pmatch } else { 0 };
            if let Some(m) = prematch.find_in(suffix(subject, start)) {
                let cmatch = after(log, start + m.end);
                event.decoder = Some(children[i]);
                event.log_after_parent = Some(pmatch);
                event.log_after_prematch = Some(cmatch);
                chosen = Some((i, cmatch));
                break;
            }
            if child.get_next {
                // Skip the rest of this same-name group, including its last member.
                i += 1;
                while i < children.len() && set.get(children[i]).get_next {
                    i += 1;
                }
                if i >= children.len() {
                    return None;
                }
            }
            i += 1;
        }
        match chosen {
            Some((i, cmatch)) => (&children[i..], cmatch),
            None => return None,
        }
    };

    let mut regex_prev: Option<isize> = None;
    for &id in chain {
        let d = set.get(id);
        if let Some(plugin) = d.plugin {
            let info = event.decoder.map(|i| set.get(i)).unwrap_or(d);
            let input = match info.plugin_offset {
                Offset::Start => Some(log),
                Offset::AfterParent => event.log_after_parent.map(|p| from(log, p)),
                Offset::AfterPrematch => event.log_after_prematch.map(|p| from(log, p)),
                Offset::AfterRegex => None,
            };
            let rule_exists = |id: &str| hooks.rule_exists(id);
            if let Some(new_log) = plugins::run(plugin, input, log, info, event, &rule_exists) {
                return Some(new_log);
            }
        } else if let Some(regex) = &d.regex {
            let start = match d.regex_offset {
                Offset::Start => 0,
                Offset::AfterParent => pmatch,
                Offset::AfterPrematch => cmatch,
                Offset::AfterRegex => regex_prev.unwrap_or(cmatch),
            };
            let Some(m) = regex.find_in(suffix(subject, start)) else {
                if d.get_next {
                    continue;
                }
                return None;
            };
            regex_prev = Some(after(log, start + m.end));
            if event.dynamic_len() >= super::event::MAX_DYNAMIC {
                tracing::error!("Regex has too many groups.");
                return None;
            }
            for (slot, capture) in d.order.iter().zip(&m.captures) {
                let value = super::text::lossy(capture);
                match slot {
                    Slot::Static(field) => event.set(*field, value),
                    Slot::Dynamic(key) => {
                        event.push_dynamic(key.clone(), value);
                    }
                }
            }
        } else {
            return None;
        }
        if !d.get_next {
            return None;
        }
    }
    None
}
