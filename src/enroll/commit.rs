//! Group commit: enrollments are decided and written by one thread, in batches of whatever
//! arrived meanwhile, one store transaction (one fsync) per batch. Each request sees the ones
//! before it; no answer is sent before its agent is durable.

use std::net::IpAddr;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tracing::error;

use super::error::EnrollError;
use super::policy::{Admission, Enrolled, Policy};
use super::request::Request;
use crate::cluster::Cluster;
use crate::cluster::admit::AdmitError;
use crate::cluster::registry::RegistryError;
use crate::store::{Store, StoreError};

/// Most enrollments in one transaction.
const MAX_BATCH: usize = 512;
/// Requests waiting for the committer before submitters wait too.
const QUEUE: usize = 4096;

struct Job {
    request: Request,
    source: IpAddr,
    reply: oneshot::Sender<Result<Enrolled, EnrollError>>,
}

/// The handle submitters use; the thread ends when every handle is dropped.
#[derive(Debug, Clone)]
pub struct Committer {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("name", &self.request.name).field("source", &self.source).finish()
    }
}

impl Committer {
    /// Starts the committer thread. `committed` runs after each transaction that added agents.
    /// With a cluster, each batch is claimed in the cluster's registry first (on the current
    /// tokio runtime, which must outlive the thread's work).
    pub fn spawn(
        store: Store,
        policy: Policy,
        cluster: Option<Arc<Cluster>>,
        committed: impl Fn() + Send + 'static,
    ) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let cluster = cluster.map(|c| (c, tokio::runtime::Handle::current()));
        std::thread::Builder::new()
            .name("vigil-enroll-commit".into())
            .spawn(move || run(queue, &store, &policy, cluster.as_ref(), &committed))?;
        Ok(Self { jobs })
    }

    /// Decides and, when admitted, stores one enrollment.
    pub async fn submit(&self, request: Request, source: IpAddr) -> Result<Enrolled, EnrollError> {
        let name = request.name.to_string();
        let internal = || EnrollError::Internal(name.clone());
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job { request, source, reply }).await.map_err(|_| internal())?;
        answer.await.unwrap_or_else(|_| Err(internal()))
    }
}

fn run(
    mut queue: mpsc::Receiver<Job>,
    store: &Store,
    policy: &Policy,
    cluster: Option<&(Arc<Cluster>, tokio::runtime::Handle)>,
    committed: &dyn Fn(),
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let now = crate::server::now();
        let decisions: Vec<Admission> = match (cluster, decide_now(store, policy, cluster, &batch, now)) {
            (_, Ok(decisions)) => decisions.into_iter().map(Ok).collect(),
            // In a cluster a local retry would hand out ids the registry never reserved.
            (Some(_), Err(e)) => {
                error!("Enrollment batch of {} failed: {e}", batch.len());
                batch.iter().map(|job| Ok(Err(EnrollError::Internal(job.request.name.to_string())))).collect()
            }
            // One request the store refuses must not fail the others: retry them one by one.
            (None, Err(e)) if batch.len() > 1 => {
                error!("Enrollment batch of {} failed ({e}); retrying one by one", batch.len());
                batch.iter().map(|job| decide_one(store, policy, job, now)).collect()
            }
            (None, Err(e)) => vec![Err(e)],
        };
        let mut added = false;
        for (job, decision) in batch.drain(..).zip(decisions) {
            let answer = decision.unwrap_or_else(|e| {
                error!("Unable to add agent: {} (internal error: {e})", job.request.name);
                Err(EnrollError::Internal(job.request.name.to_string()))
            });
            added |= answer.is_ok();
            // The submitter may have timed out and gone; its agent is enrolled all the same.
            let _ = job.reply.send(answer);
        }
        if added {
            committed();
        }
    }
}

/// Decides the batch, through the cluster's registry when there is one.
fn decide_now(
    store: &Store,
    policy: &Policy,
    cluster: Option<&(Arc<Cluster>, tokio::runtime::Handle)>,
    batch: &[Job],
    now: i64,
) -> Result<Vec<Result<Enrolled, EnrollError>>, StoreError> {
    match cluster {
        Some((cluster, runtime)) => runtime.block_on(decide_clustered(store, policy, cluster, batch, now)),
        None => decide(store, policy, batch, now),
    }
}

/// Decides every job in one transaction, which commits unless the store itself fails.
fn decide(
    store: &Store,
    policy: &Policy,
    batch: &[Job],
    now: i64,
) -> Result<Vec<Result<Enrolled, EnrollError>>, StoreError> {
    store.write(|w| admit_all(w, policy, batch, now))
}

/// The policy's decision on every job, in order, within `w`.
fn admit_all(
    w: &mut crate::store::Writer<'_>,
    policy: &Policy,
    batch: &[Job],
    now: i64,
) -> Result<Vec<Result<Enrolled, EnrollError>>, StoreError> {
    batch.iter().map(|job| policy.admit(w, &job.request, job.source, now)).collect()
}

/// Decides every job against the local mirror, claims the admitted ones in the cluster's
/// registry, and stores those it accepted. With the registry unreachable every job is refused:
/// no node can promise a unique id or name without it.
async fn decide_clustered(
    store: &Store,
    policy: &Policy,
    cluster: &Cluster,
    batch: &[Job],
    now: i64,
) -> Result<Vec<Result<Enrolled, EnrollError>>, StoreError> {
    let plan = |w: &mut crate::store::Writer<'_>| admit_all(w, policy, batch, now);
    let refused = |e: RegistryError, agent: &crate::store::Agent| match e {
        RegistryError::NameTaken(name) => EnrollError::DuplicateName(name.to_string()),
        RegistryError::IpTaken(ip) => EnrollError::DuplicateIp(ip.to_string()),
        RegistryError::Unavailable(_) => EnrollError::ClusterUnavailable,
        RegistryError::IdTaken(_) | RegistryError::Gone(_) | RegistryError::IdsExhausted | RegistryError::Seal(_) => {
            EnrollError::Internal(agent.name.to_string())
        }
    };
    let count = u32::try_from(batch.len()).unwrap_or(u32::MAX);
    match cluster.admit(store, count, plan, refused, policy.purge).await {
        Ok(decisions) => Ok(decisions),
        Err(AdmitError::Store(e)) => Err(e),
        Err(AdmitError::Registry(e)) => {
            error!(stage = "cluster", "Enrollment refused: {e}");
            Ok(batch.iter().map(|_| Err(EnrollError::ClusterUnavailable)).collect())
        }
    }
}

fn decide_one(store: &Store, policy: &Policy, job: &Job, now: i64) -> Admission {
    let mut decisions = decide(store, policy, std::slice::from_ref(job), now)?;
    Ok(decisions.pop().unwrap_or_else(|| Err(EnrollError::Internal(job.request.name.to_string()))))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::config::Auth;
    use crate::enroll::request::{Expect, parse};

    const SOURCE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn request(name: &str) -> Request {
        parse(format!("OSSEC A:'{name}'").as_bytes(), &Expect::default()).expect("a valid request")
    }

    #[tokio::test]
    async fn a_committer_that_is_gone_answers_internal_error() {
        let (jobs, queue) = mpsc::channel(1);
        drop(queue);
        let answer = Committer { jobs }.submit(request("web01"), SOURCE).await;
        let expected = "ERROR: Internal manager error adding agent: web01. Unable to add agent";
        assert_eq!(answer.err().map(|e| e.reply()).as_deref(), Some(expected));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_enrollments_share_transactions_and_ids_stay_unique() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("etc/shared/default")).expect("group dir");
        let store = Store::open(&dir.path().join("db")).expect("store");
        let policy = Policy::new(&Auth::default(), dir.path(), "manager".into());
        let commits = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&commits);
        let committer = Committer::spawn(store.clone(), policy, None, move || {
            counted.fetch_add(1, Ordering::Relaxed);
        })
        .expect("committer");
        let tasks: Vec<_> = (0..200)
            .map(|n| {
                let committer = committer.clone();
                // Every tenth name repeats an earlier one: refused, without failing the batch.
                let name = if n % 10 == 9 { format!("agent{}", n - 1) } else { format!("agent{n}") };
                tokio::spawn(async move { committer.submit(request(&name), SOURCE).await })
            })
            .collect();
        let mut ids = Vec::new();
        let mut duplicates = 0;
        for task in tasks {
            match task.await.expect("task") {
                Ok(enrolled) => ids.push(enrolled.agent.id.get()),
                Err(EnrollError::DuplicateName(_)) => duplicates += 1,
                Err(e) => panic!("{e}"),
            }
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!((ids.len(), duplicates), (180, 20));
        assert_eq!(store.agents().map(|a| a.len()).ok(), Some(180));
        let commits = commits.load(Ordering::Relaxed);
        assert!((1..=180).contains(&commits), "{commits} commits");
    }
}
