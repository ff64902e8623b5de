//! One integration's loop, on its own thread and tokio runtime: read alerts from the log at the
//! integration's kept place, keep those its filters pass, deliver up to
//! [`super::Integration::in_flight`] at once, and move the kept place only over alerts that are
//! done (delivered, skipped, or given up and dead-lettered), in log order. A failing service
//! holds only its own loop; the engine and the other integrations go on.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use futures_util::stream::FuturesOrdered;

use super::breaker::{Breaker, Gate};
use super::filter::Filter;
use super::stats::Stats;
use super::{Integration, Outcome};
use crate::logging::throttle::Throttle;
use crate::output::alert::Alert;
use crate::output::consumers::Position;
use crate::output::dead_letter::DeadLetter;
use crate::output::follow::Follower;
use crate::output::tail::Chunk;

/// How long the loop sleeps when the log has nothing new.
const IDLE: Duration = Duration::from_millis(20);

/// Bytes read from the log at once.
const READ: usize = 256 << 10;

/// The first wait before trying an alert again; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// The longest wait between tries of one alert.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What delivers (shared by the alerts in flight).
struct Deliverer {
    integration: Box<dyn Integration>,
    /// Tries after the first that an alert the service answers badly gets (`<retries>`).
    retries: u32,
    filter: Filter,
    stats: Arc<Stats>,
    breaker: RefCell<Breaker>,
    dead: RefCell<DeadLetter>,
    /// Error lines are rate-limited: a dead service must not flood ossec.log.
    errors: Throttle,
}

/// One integration's loop.
pub struct Worker {
    log: Follower,
    deliverer: Deliverer,
}

impl Worker {
    /// A loop for `integration` over `log`.
    pub fn new(
        log: Follower,
        integration: Box<dyn Integration>,
        filter: Filter,
        stats: Arc<Stats>,
        dead: DeadLetter,
        retries: u32,
    ) -> Self {
        let deliverer = Deliverer {
            integration,
            retries,
            filter,
            stats,
            breaker: RefCell::new(Breaker::default()),
            dead: RefCell::new(dead),
            errors: Throttle::default(),
        };
        Self { log, deliverer }
    }

    /// Runs for as long as the process does.
    pub fn run(self) {
        let name = self.deliverer.stats.name.clone();
        match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime.block_on(self.serve()),
            Err(e) => tracing::error!(stage = "integrations", integration = %name, "cannot start: {e}"),
        }
    }

    async fn serve(self) {
        let Self { mut log, deliverer } = self;
        let window = deliverer.integration.in_flight().max(1);
        let mut in_flight = FuturesOrdered::new();
        let mut carry: Option<Chunk> = None;
        let mut last_lag: Option<Instant> = None;
        loop {
            // Fill the window from the log.
            while in_flight.len() < window {
                let mut chunk = match carry.take() {
                    Some(c) => c,
                    None => log.read(READ),
                };
                if chunk.is_empty() {
                    break;
                }
                while in_flight.len() < window {
                    let Some((line, _, end)) = chunk.next_line() else { break };
                    match deliverer.accept(line) {
                        Some(alert) => in_flight.push_back(deliverer.deliver(alert, end)),
                        None if in_flight.is_empty() => log.confirm(end, false),
                        None => in_flight.push_back(Box::pin(std::future::ready(end))),
                    }
                }
                if !chunk.is_empty() {
                    carry = Some(chunk);
                }
            }
            if last_lag.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
                last_lag = Some(Instant::now());
                deliverer.stats.lag_bytes.store(log.lag_bytes(), Ordering::Relaxed);
            }
            match in_flight.next().await {
                Some(done) => log.confirm(done, false),
                None => {
                    log.flush();
                    tokio::time::sleep(IDLE).await;
                }
            }
        }
    }
}

impl Deliverer {
    /// The alert on `line` when this integration takes it.
    fn accept(&self, line: &[u8]) -> Option<Alert> {
        let alert = Alert::parse(line)?;
        if !self.filter.passes(&alert) {
            return None;
        }
        Stats::bump(&self.stats.matched);
        Some(alert)
    }

    /// Delivers `alert` until it is done; gives the place after it.
    fn deliver(&self, alert: Alert, end: Position) -> std::pin::Pin<Box<dyn Future<Output = Position> + '_>> {
        Box::pin(async move {
            let mut backoff = FIRST_BACKOFF;
            let mut tries = 0;
            loop {
                let gate = self.breaker.borrow_mut().gate(Instant::now());
                if let Gate::Wait(wait) = gate {
                    tokio::time::sleep(wait).await;
                    continue;
                }
                let probe = gate == Gate::Probe;
                match self.integration.deliver(&alert).await {
                    Outcome::Done => {
                        Stats::bump(&self.stats.sent);
                        self.closed();
                        return end;
                    }
                    Outcome::Skipped(why) => {
                        Stats::bump(&self.stats.skipped);
                        tracing::debug!(stage = "integrations", integration = %self.stats.name, "alert skipped: {why}");
                        if probe {
                            self.breaker.borrow_mut().skipped();
                        }
                        return end;
                    }
                    Outcome::Failed(why) => {
                        // The service answered: it is up, and this alert will never be taken.
                        self.give_up(&alert, &why);
                        self.closed();
                        return end;
                    }
                    Outcome::Retry { reason, after, counts } => {
                        Stats::bump(&self.stats.retried);
                        let opened = self.breaker.borrow_mut().failure(Instant::now(), probe);
                        self.stats.breaker_open.store(self.breaker.borrow().is_open(), Ordering::Relaxed);
                        tries += u32::from(counts);
                        if tries > self.retries {
                            self.give_up(&alert, &format!("given up after {tries} tries: {reason}"));
                            return end;
                        }
                        let what = if opened { "; the service is taken as down for a while" } else { "; retrying" };
                        self.error(&format!("{reason}{what}"));
                        tokio::time::sleep(after.unwrap_or(backoff).min(MAX_BACKOFF)).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
            }
        })
    }

    /// Counts `alert` as failed for good and keeps it in the dead-letter file.
    fn give_up(&self, alert: &Alert, why: &str) {
        Stats::bump(&self.stats.failed);
        self.error(&format!("alert {} refused, dead-lettered: {why}", alert.rule_id()));
        self.dead.borrow_mut().write(&self.stats.name, None, why, &alert.line);
    }

    /// The service answered.
    fn closed(&self) {
        let was_open = self.breaker.borrow().is_open();
        self.breaker.borrow_mut().success();
        if was_open {
            self.stats.breaker_open.store(false, Ordering::Relaxed);
            tracing::info!(stage = "integrations", integration = %self.stats.name, "the service answers again");
        }
    }

    /// An error line, rate-limited.
    fn error(&self, message: &str) {
        if let Some(suffix) = self.errors.allow().suffix() {
            tracing::error!(stage = "integrations", integration = %self.stats.name, "{message}{suffix}");
        }
    }
}
