//! Which agent sent a message (protocol.md §2.3), with each agent's cipher keys derived once.
//!
//! The table is a cache of the store: an id it does not know is looked up in the store at once,
//! so an agent enrolled a moment ago is accepted on its first message; [`KeyTable::refresh`]
//! drops removed agents and picks up replaced keys.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::secmsg::AgentKeys;
use crate::store::{Agent, AgentIp, Store, StoreError};

/// An agent and its keys.
#[derive(Debug, Clone)]
pub struct KeyEntry {
    /// The agent as the store has it.
    pub agent: Agent,
    /// Its AES and Blowfish keys.
    pub keys: AgentKeys,
}

impl KeyEntry {
    /// The entry of `agent`, its keys derived.
    pub fn new(agent: Agent) -> Self {
        let keys = AgentKeys::derive(&agent.id.to_string(), agent.name.as_str(), agent.key.expose());
        Self { agent, keys }
    }
}

/// Why a message's sender is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unknown {
    /// `!<id>!` names no agent, or one whose address does not contain the source (Wazuh 1408).
    #[error("(1408): Invalid ID {id} for the source ip: '{peer}'")]
    Id {
        /// The id sent.
        id: String,
        /// The peer.
        peer: String,
    },
    /// No prefix, and no agent registered with the source address (Wazuh 1213).
    #[error("(1213): Message from '{0}' not allowed. Cannot find the ID of the agent.")]
    Address(String),
}

/// Agents by id and by single-host address.
#[derive(Debug, Default)]
pub struct KeyTable {
    by_id: HashMap<String, Arc<KeyEntry>>,
    by_ip: HashMap<String, Arc<KeyEntry>>,
}

impl KeyTable {
    /// A table of every agent in the store.
    pub fn load(store: &Store) -> Result<Self, StoreError> {
        let mut table = Self::default();
        table.refresh(store)?;
        Ok(table)
    }

    /// Rebuilds from the store; entries whose agent did not change keep their derived keys.
    pub fn refresh(&mut self, store: &Store) -> Result<(), StoreError> {
        let mut by_id = HashMap::with_capacity(self.by_id.len());
        let mut by_ip = HashMap::new();
        for agent in store.agents()? {
            let id = agent.id.to_string();
            let entry = match self.by_id.remove(&id) {
                Some(old) if old.agent.key == agent.key && old.agent.name == agent.name && old.agent.ip == agent.ip => {
                    old
                }
                _ => Arc::new(KeyEntry::new(agent)),
            };
            if entry.agent.ip.is_single_host() {
                by_ip.insert(entry.agent.ip.as_str().to_owned(), Arc::clone(&entry));
            }
            by_id.insert(id, entry);
        }
        *self = Self { by_id, by_ip };
        Ok(())
    }

    /// The sender of a message with this `!<id>!` prefix (or none) from `source`.
    pub fn identify(&mut self, store: &Store, id: Option<&str>, source: IpAddr) -> Result<Arc<KeyEntry>, Unknown> {
        let Some(id) = id else {
            let text = AgentIp::from_source(source).as_str().to_owned();
            return self.by_ip.get(&text).cloned().ok_or(Unknown::Address(text));
        };
        let unknown = || Unknown::Id { id: id.to_owned(), peer: AgentIp::from_source(source).to_string() };
        let entry = match self.by_id.get(id) {
            Some(entry) => Arc::clone(entry),
            None => {
                // Ids compare as text (`001` is not `1`), so only a canonical id can be in the store.
                let agent =
                    id.parse().ok().and_then(|parsed| store.agent(parsed).ok().flatten()).ok_or_else(unknown)?;
                if agent.id.to_string() != id {
                    return Err(unknown());
                }
                let entry = Arc::new(KeyEntry::new(agent));
                self.by_id.insert(id.to_owned(), Arc::clone(&entry));
                entry
            }
        };
        if entry.agent.ip.contains(source) { Ok(entry) } else { Err(unknown()) }
    }

    /// Agents in the table.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewAgent;

    fn add(store: &Store, name: &str, ip: &str) -> Agent {
        let new = NewAgent {
            name: name.parse().expect("name"),
            ip: ip.parse().expect("ip"),
            groups: vec![],
            registered_at: 0,
        };
        store.add_agent(new).expect("add")
    }

    #[test]
    fn senders_are_found_by_prefix_or_address() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let web = add(&store, "web01", "any");
        add(&store, "db01", "10.0.0.5");
        let mut table = KeyTable::load(&store).expect("table");
        let from = |s: &str| s.parse::<IpAddr>().expect("addr");
        assert_eq!(table.identify(&store, Some("001"), from("192.0.2.1")).map(|e| e.agent.id), Ok(web.id));
        assert!(matches!(table.identify(&store, Some("1"), from("192.0.2.1")), Err(Unknown::Id { .. })));
        assert!(table.identify(&store, None, from("10.0.0.5")).is_ok());
        assert!(matches!(table.identify(&store, None, from("10.0.0.6")), Err(Unknown::Address(_))));
        assert!(matches!(table.identify(&store, Some("002"), from("10.0.0.6")), Err(Unknown::Id { .. })));
        // Enrolled after the table was loaded: found on its first message.
        let late = add(&store, "late01", "any");
        assert_eq!(table.identify(&store, Some("003"), from("192.0.2.1")).map(|e| e.agent.id), Ok(late.id));
        // Removed: gone after a refresh.
        store.remove_agent(late.id, true).expect("remove");
        table.refresh(&store).expect("refresh");
        assert!(table.identify(&store, Some("003"), from("192.0.2.1")).is_err());
        assert_eq!(table.len(), 2);
    }
}
