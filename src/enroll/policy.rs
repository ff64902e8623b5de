//! Who may enroll: groups, duplicate addresses and names, and `<force>` replacement (authd's
//! `w_auth_validate_data` and `w_auth_replace_agent`, protocol.md §1.5), applied inside one
//! store write transaction so concurrent enrollments see each other.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use tracing::{info, warn};

use super::error::EnrollError;
use super::request::{IpChoice, Request};
use crate::config::{Auth, Force};
use crate::store::{Agent, AgentId, AgentIp, AgentKey, AgentName, GroupName, NewAgent, Status, StoreError, Writer};

/// The enrollment rules from `<auth>` and the home.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Register agents that send no `IP:` with their source address.
    pub use_source_ip: bool,
    /// When an existing agent may be replaced.
    pub force: Force,
    /// Replaced agents leave no `!` line in client.keys.
    pub purge: bool,
    /// The manager's host name, which no agent may take.
    pub manager_name: String,
    /// `etc/shared`, where every group must have its directory.
    pub shared_dir: PathBuf,
}

/// A successful enrollment.
#[derive(Debug, Clone)]
pub struct Enrolled {
    /// The new agent, key included.
    pub agent: Agent,
    /// Agents removed to make room for it (same address or name).
    pub replaced: Vec<Agent>,
}

/// What [`Policy::admit`] decided; the outer error is the store failing, which aborts the batch.
pub type Admission = Result<Result<Enrolled, EnrollError>, StoreError>;

/// `SHA-1(id ‖ name ‖ key)` in hex: what an agent sends as `K:` for the key it holds
/// (`w_get_key_hash`).
pub fn key_hash(id: AgentId, name: &AgentName, key: &AgentKey) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(id.to_string().as_bytes());
    ctx.update(name.as_str().as_bytes());
    ctx.update(key.expose().as_bytes());
    crate::hex::encode(ctx.finish().as_ref())
}

impl Policy {
    /// The rules of this `<auth>` for the home at `root`.
    pub fn new(auth: &Auth, root: &std::path::Path, manager_name: String) -> Self {
        Self {
            use_source_ip: auth.use_source_ip,
            force: auth.force.clone(),
            purge: auth.purge,
            manager_name,
            shared_dir: root.join("etc/shared"),
        }
    }

    /// The address the agent is registered with.
    pub fn address(&self, choice: &IpChoice, source: IpAddr) -> AgentIp {
        match choice {
            IpChoice::Given(ip) => ip.clone(),
            IpChoice::Source => AgentIp::from_source(source),
            IpChoice::Unspecified if self.use_source_ip => AgentIp::from_source(source),
            IpChoice::Unspecified => AgentIp::any(),
        }
    }

    /// Checks `request` against the store as of this transaction and, when it may enroll,
    /// replaces what it must and adds the agent.
    pub fn admit(&self, w: &mut Writer<'_>, request: &Request, source: IpAddr, now: i64) -> Admission {
        for group in &request.groups {
            if !self.shared_dir.join(group.as_str()).is_dir() {
                return Ok(Err(EnrollError::InvalidGroup(group.to_string())));
            }
            // A directory made since the last start is a group the store learns now.
            w.add_group(group, now)?;
        }
        let ip = self.address(&request.ip, source);
        let mut replaced = Vec::new();
        if !ip.is_any()
            && let Some(old) = w.agents_by_ip(ip.as_str())?.into_iter().next()
        {
            match self.replace(w, &old, request.key_hash.as_deref(), now)? {
                Ok(message) => {
                    info!("Duplicate IP '{ip}'. {message}");
                    replaced.push(old);
                }
                Err(reason) => {
                    warn!("Duplicate IP '{ip}', rejecting enrollment. {reason}");
                    return Ok(Err(EnrollError::DuplicateIp(ip.to_string())));
                }
            }
        }
        let name = &request.name;
        if name.as_str() == self.manager_name {
            warn!("Invalid agent name {name} (same as manager)");
            return Ok(Err(EnrollError::InvalidName(name.to_string())));
        }
        if let Some(old) = w.agent_by_name(name.as_str())? {
            match self.replace(w, &old, request.key_hash.as_deref(), now)? {
                Ok(message) => {
                    info!("Duplicate name. {message}");
                    replaced.push(old);
                }
                Err(reason) => {
                    warn!("Duplicate name '{name}', rejecting enrollment. {reason}");
                    return Ok(Err(EnrollError::DuplicateName(name.to_string())));
                }
            }
        }
        let groups = if request.groups.is_empty() {
            let default = GroupName::default_group();
            w.add_group(&default, now)?;
            vec![default]
        } else {
            request.groups.clone()
        };
        let agent = w.add_agent(NewAgent { name: name.clone(), ip, groups, registered_at: now })?;
        Ok(Ok(Enrolled { agent, replaced }))
    }

    /// Removes `old` when `<force>` allows it: `Ok(message)`, or `Err(reason)` to refuse.
    fn replace(
        &self,
        w: &mut Writer<'_>,
        old: &Agent,
        key_hash_sent: Option<&str>,
        now: i64,
    ) -> Result<Result<String, String>, StoreError> {
        if let Some(reason) = self.keep_reason(old, key_hash_sent, now) {
            return Ok(Err(reason));
        }
        w.remove_agent(old.id, self.purge)?;
        Ok(Ok(format!("Removing old agent '{}' (id '{}').", old.name, old.id)))
    }

    /// Why `old` must stay, or `None` when it may be replaced.
    fn keep_reason(&self, old: &Agent, key_hash_sent: Option<&str>, now: i64) -> Option<String> {
        let id = old.id;
        let force = &self.force;
        if !force.enabled {
            return Some(format!("Agent '{id}' won't be removed because the force option is disabled."));
        }
        let since = |t: i64| Duration::from_secs(u64::try_from(now.saturating_sub(t)).unwrap_or(0));
        if let Some(needed) = force.disconnected_time
            && old.status != Status::NeverConnected
        {
            // wazuh-db's disconnection_time is 0 unless the agent is disconnected.
            let disconnected_at = match old.status {
                Status::Disconnected => old.disconnected_at.unwrap_or(0),
                _ => 0,
            };
            if disconnected_at == 0 {
                return Some(format!("Agent '{id}' can't be replaced since it is not disconnected."));
            }
            if since(disconnected_at) < needed {
                return Some(format!("Agent '{id}' has not been disconnected long enough to be replaced."));
            }
        }
        if !force.after_registration_time.is_zero() && since(old.registered_at) < force.after_registration_time {
            return Some(format!("Agent '{id}' doesn't comply with the registration time to be removed."));
        }
        if force.key_mismatch && key_hash_sent.is_some_and(|sent| sent == key_hash(old.id, &old.name, &old.key)) {
            return Some(format!("Agent '{id}' key already exists on the manager."));
        }
        None
    }
}

#[cfg(test)]
mod tests;
