//! What the cluster shares of an agent: its identity (id, name, address, key, groups), never its
//! connection state, which belongs to the node serving it.

use serde::{Deserialize, Serialize};

use crate::store::{Agent, AgentId, AgentIp, AgentKey, AgentName, GroupName};

/// An agent's identity as the registry holds it (sealed: it carries the key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Unique id.
    pub id: AgentId,
    /// Unique name.
    pub name: AgentName,
    /// Registration address.
    pub ip: AgentIp,
    /// Shared secret.
    pub key: AgentKey,
    /// Groups in priority order.
    pub groups: Vec<GroupName>,
    /// Registration time, Unix seconds.
    pub registered_at: i64,
}

impl Record {
    /// The identity of `agent`.
    pub fn of(agent: &Agent) -> Self {
        Self {
            id: agent.id,
            name: agent.name.clone(),
            ip: agent.ip.clone(),
            key: agent.key.clone(),
            groups: agent.groups.clone(),
            registered_at: agent.registered_at,
        }
    }

    /// Whether `agent` already has this identity.
    pub fn matches(&self, agent: &Agent) -> bool {
        *self == Self::of(agent)
    }

    /// A never-connected agent with this identity.
    pub fn to_agent(&self) -> Agent {
        let mut agent = Agent::new(self.id, self.name.clone(), self.ip.clone(), self.key.clone(), self.registered_at);
        agent.groups.clone_from(&self.groups);
        agent
    }

    /// Gives `agent` this identity, keeping what its connection told this node.
    pub fn apply_to(&self, agent: &mut Agent) {
        agent.name = self.name.clone();
        agent.ip = self.ip.clone();
        agent.key = self.key.clone();
        agent.groups.clone_from(&self.groups);
        agent.registered_at = self.registered_at;
    }
}
