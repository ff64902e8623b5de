//! Agent liveness, as remoted and monitord keep it (protocol.md §3.7): a start resets every
//! connected agent to disconnected, and a sweep disconnects agents silent for longer than
//! `<agents_disconnection_time>`, injecting `Agent disconnected` for each.

use std::sync::Arc;
use std::time::Duration;

use tracing::{error, info};

use super::event;
use crate::server::queue::Sink;
use crate::store::{Agent, Status, Store, StoreError};

/// Marks every active or pending agent disconnected (remoted's start-up reset).
pub fn reset(store: &Store, now: i64) -> Result<usize, StoreError> {
    Ok(disconnect_returning(store, now, |_| true)?.len())
}

/// Disconnects the active and pending agents `stale` picks, and returns them.
fn disconnect_returning(store: &Store, now: i64, stale: impl Fn(&Agent) -> bool) -> Result<Vec<Agent>, StoreError> {
    store.write(|w| {
        let mut gone = Vec::new();
        for status in [Status::Active, Status::Pending] {
            for agent in w.agents_with_status(status)? {
                if stale(&agent) {
                    gone.push(w.update(agent.id, |a| {
                        a.status = Status::Disconnected;
                        a.disconnected_at = Some(now);
                    })?);
                }
            }
        }
        Ok(gone)
    })
}

/// Agents whose last keepalive is older than `limit` at `now`: disconnected, and returned.
pub fn sweep(store: &Store, now: i64, limit: Duration) -> Result<Vec<Agent>, StoreError> {
    let limit = i64::try_from(limit.as_secs()).unwrap_or(i64::MAX);
    disconnect_returning(store, now, |a| a.last_keepalive.is_none_or(|t| now.saturating_sub(t) > limit))
}

/// Sweeps every quarter of `limit` (1 s to 60 s) on its own thread, sending `Agent
/// disconnected` through `sink` for each agent it disconnects.
pub fn spawn(store: Store, sink: Arc<Sink>, limit: Duration) -> std::io::Result<()> {
    let every = (limit / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
    std::thread::Builder::new().name("vigil-agent-monitor".into()).spawn(move || {
        loop {
            std::thread::sleep(every);
            match sweep(&store, crate::server::now(), limit) {
                Ok(gone) => {
                    for agent in gone {
                        info!(agent = %agent.id, name = %agent.name, "Agent disconnected: no keepalive for {} s", limit.as_secs());
                        let text = format!("1:wazuh-monitord:ossec: Agent disconnected: '{}-{}'.", agent.name, agent.ip);
                        if let Ok(message) = event::forward(&agent, text.as_bytes()) {
                            sink.handle(&message);
                        }
                    }
                }
                Err(e) => error!("agent disconnection sweep failed: {e}"),
            }
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewAgent;

    #[test]
    fn silent_agents_are_disconnected_and_a_restart_resets_all() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path())?;
        let mut ids = Vec::new();
        for (name, status, seen) in [
            ("fresh01", Status::Active, 990),
            ("stale01", Status::Active, 10),
            ("wait01", Status::Pending, 10),
            ("new01", Status::NeverConnected, 0),
        ] {
            let agent = store.add_agent(NewAgent {
                name: name.parse()?,
                ip: "any".parse()?,
                groups: vec![],
                registered_at: 0,
            })?;
            store.write(|w| {
                w.update(agent.id, |a| {
                    a.status = status;
                    a.last_keepalive = (seen > 0).then_some(seen);
                })
            })?;
            ids.push(agent.id);
        }
        let gone: Vec<String> =
            sweep(&store, 1000, Duration::from_secs(900))?.iter().map(|a| a.name.to_string()).collect();
        assert_eq!(gone, ["stale01", "wait01"]);
        let status = |i: usize| store.agent(ids[i]).ok().flatten().map(|a| (a.status, a.disconnected_at));
        assert_eq!(status(1), Some((Status::Disconnected, Some(1000))));
        assert_eq!(status(0).map(|s| s.0), Some(Status::Active));
        assert_eq!(status(3).map(|s| s.0), Some(Status::NeverConnected), "never connected stays so");
        assert_eq!(reset(&store, 2000)?, 1);
        assert_eq!(status(0), Some((Status::Disconnected, Some(2000))));
        Ok(())
    }
}
