//! Registering agents cluster-wide: ids are reserved from the registry, the local decision (the
//! enrollment policy, or an API request) is rehearsed against the mirror without committing,
//! each admitted agent is claimed in the registry, and only what the registry accepted is
//! written to the local store. Another node's mirror learns of it through its watch.

use super::record::Record;
use super::registry::RegistryError;
use super::{Cluster, bounded};
use crate::enroll::policy::Enrolled;
use crate::store::{Agent, AgentId, Store, StoreError, Writer};

/// Why nothing was registered.
#[derive(Debug, thiserror::Error)]
pub enum AdmitError {
    /// The registry could not be reached, or refused the id reservation.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Cluster {
    /// Registers what `plan` decides for up to `count` new agents (their ids come from a block
    /// reserved for them). Each decision comes back: `plan`'s refusal, the registry's (mapped by
    /// `refused`), or the agent, now stored here and in the registry. Replaced agents are
    /// removed, keeping their `!` line unless `purge`.
    pub async fn admit<E>(
        &self,
        store: &Store,
        count: u32,
        plan: impl FnOnce(&mut Writer<'_>) -> Result<Vec<Result<Enrolled, E>>, StoreError>,
        refused: impl Fn(RegistryError, &Agent) -> E,
        purge: bool,
    ) -> Result<Vec<Result<Enrolled, E>>, AdmitError> {
        let registry = self.registry()?;
        let count = count.max(1);
        let first = bounded(registry.reserve_ids(count, store.last_id_handed_out()?))
            .await
            .inspect_err(|_| self.stats.unavailable.inc())?;
        let reserved = first..first.saturating_add(count);
        let planned = store.rehearse(|w| {
            w.use_id_block(reserved.clone());
            plan(w)
        })?;
        let mut decided = Vec::with_capacity(planned.len());
        for decision in planned {
            let Ok(enrolled) = decision else {
                decided.push(decision);
                continue;
            };
            let agent = &enrolled.agent;
            // An id given by the caller (POST /agents/insert) is kept from later reservations first.
            let claimed = bounded(async {
                if !reserved.contains(&agent.id.get()) {
                    registry.reserve_id(agent.id).await?;
                }
                registry.enroll(agent, &enrolled.replaced).await
            })
            .await;
            match claimed {
                Ok(()) => {
                    self.stats.writes.inc();
                    decided.push(Ok(enrolled));
                }
                Err(e) => {
                    if matches!(e, RegistryError::Unavailable(_)) {
                        self.stats.unavailable.inc();
                    }
                    tracing::warn!(stage = "cluster", name = %agent.name, "registry refused the agent: {e}");
                    decided.push(Err(refused(e, agent)));
                }
            }
        }
        store.write(|w| {
            for enrolled in decided.iter().flatten() {
                store_admitted(w, enrolled, purge)?;
            }
            Ok(())
        })?;
        Ok(decided)
    }

    /// Stores a change to `agent`'s identity (its groups) for every node, then here: decided by
    /// `change` on the agent as this node has it. With NATS unreachable nothing changes.
    pub async fn change_agent(
        &self,
        store: &Store,
        id: AgentId,
        change: impl FnOnce(&mut Agent),
    ) -> Result<Agent, AdmitError> {
        let registry = self.registry()?;
        let changed = store.rehearse(|w| w.update(id, change))?;
        bounded(registry.update(&changed)).await.inspect_err(|_| self.stats.unavailable.inc())?;
        self.stats.writes.inc();
        let record = Record::of(&changed);
        Ok(store.write(|w| w.update(id, |a| record.apply_to(a)))?)
    }

    /// Removes `agent` from the registry, then here (keeping its `!` line unless `purge`).
    pub async fn remove(&self, store: &Store, agent: &Agent, purge: bool) -> Result<(), AdmitError> {
        let registry = self.registry()?;
        bounded(registry.remove(agent)).await.inspect_err(|_| self.stats.unavailable.inc())?;
        self.stats.writes.inc();
        store.write(|w| match w.agent(agent.id)? {
            Some(_) => w.remove_agent(agent.id, purge).map(drop),
            // The mirror was faster.
            None => Ok(()),
        })?;
        Ok(())
    }
}

/// Writes an admitted agent here; the mirror may already have done part of it.
fn store_admitted(w: &mut Writer<'_>, enrolled: &Enrolled, purge: bool) -> Result<(), StoreError> {
    for old in &enrolled.replaced {
        if w.agent(old.id)?.is_some() {
            w.remove_agent(old.id, purge)?;
        }
    }
    let agent = &enrolled.agent;
    if w.agent(agent.id)?.is_none() {
        for group in &agent.groups {
            w.add_group(group, agent.registered_at)?;
        }
        w.insert(agent)?;
    }
    w.raise_id_counter(agent.id.get())
}
