//! Secondary index keys: one LMDB database, keys prefixed by kind.
//!
//! `n\0<name>` → id (unique); `i\0<ip>\0<id>`, `g\0<group>\0<id>` and `s\0<status>\0<id>` → id,
//! so "agents with ip/group/status X" is a prefix seek. Ids are 4 big-endian bytes.

use super::agent::{Agent, GroupName, Status};

/// Builders for index keys.
pub(super) struct IndexKey;

fn key(kind: u8, value: &str, id: Option<u32>) -> Vec<u8> {
    let mut k = Vec::with_capacity(value.len() + 7);
    k.push(kind);
    k.push(0);
    k.extend_from_slice(value.as_bytes());
    if let Some(id) = id {
        k.push(0);
        k.extend_from_slice(&id.to_be_bytes());
    }
    k
}

fn prefix(kind: u8, value: &str) -> Vec<u8> {
    let mut k = key(kind, value, None);
    k.push(0);
    k
}

impl IndexKey {
    pub(super) fn name(name: &str) -> Vec<u8> {
        key(b'n', name, None)
    }

    pub(super) fn ip_prefix(ip: &str) -> Vec<u8> {
        prefix(b'i', ip)
    }

    pub(super) fn group_prefix(group: &GroupName) -> Vec<u8> {
        prefix(b'g', group.as_str())
    }

    pub(super) fn status_prefix(status: Status) -> Vec<u8> {
        prefix(b's', status.as_str())
    }

    /// Every index key an agent record owns.
    pub(super) fn all(agent: &Agent) -> Vec<Vec<u8>> {
        let id = Some(agent.id.get());
        let mut keys = vec![
            Self::name(agent.name.as_str()),
            key(b'i', agent.ip.as_str(), id),
            key(b's', agent.status.as_str(), id),
        ];
        keys.extend(agent.groups.iter().map(|g| key(b'g', g.as_str(), id)));
        keys
    }
}

/// Reads an id stored as 4 big-endian bytes.
pub(super) fn decode_id(raw: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(raw).ok().map(u32::from_be_bytes)
}
