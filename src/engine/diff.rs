//! `<check_diff>` (Wazuh's `dodiff.c`): a rule matches when the log differs from the last one
//! stored for the same host and rule; the first event only stores.

use std::collections::HashMap;

use super::event::Event;

/// Last log per (host, rule).
#[derive(Debug, Default)]
pub struct Diffs {
    last: HashMap<(String, u32), String>,
}

/// Largest log Wazuh diffs (`OS_SIZE_65536`).
const MAX_LOG: usize = 65536;

impl Diffs {
    /// The previous log when `event`'s differs from it (and stores the new one); `None` on the
    /// first event, an unchanged log, or a log too long to diff.
    pub fn changed(&mut self, event: &Event, sid: u32) -> Option<String> {
        let log = &event.pre.log;
        if log.len() >= MAX_LOG {
            return None;
        }
        // An agent's host reads `(name) ip->…`; Wazuh keys by the name inside the brackets.
        let host = &event.pre.hostname;
        let host = host.strip_prefix('(').map_or(host.as_str(), |h| h.split(')').next().unwrap_or(h));
        match self.last.insert((host.to_owned(), sid), log.clone()) {
            Some(previous) if previous != *log => Some(previous),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::predecode::predecode;

    #[test]
    fn first_stores_then_changes_match() {
        let event = |log: &str| Event::new(predecode(format!("1:stdin:{log}").as_bytes(), "vm").expect("predecode"));
        let mut diffs = Diffs::default();
        assert_eq!(diffs.changed(&event("ports: 22"), 533), None);
        assert_eq!(diffs.changed(&event("ports: 22"), 533), None);
        assert_eq!(diffs.changed(&event("ports: 22 80"), 533).as_deref(), Some("ports: 22"));
        assert_eq!(diffs.changed(&event("ports: 22"), 534), None, "per rule");
    }
}
