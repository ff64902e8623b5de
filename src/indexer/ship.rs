//! The shipping loop of one stream: read lines from the log, batch them, send `_bulk`, sort the
//! answer (done, retry, dead letter), and only then move the kept place forward. A failing
//! indexer holds the loop, never the engine: the log keeps growing and is caught up later.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hyper::body::Bytes;

use super::bulk::{self, Batch, Target};
use super::geo::Geo;
use super::http::{Client, Request};
use super::stats::Stats;
use crate::output::dead_letter::DeadLetter;
use crate::output::follow::Follower;
use crate::output::tail::Chunk;

/// How long the loop sleeps when the log has nothing new.
const IDLE: Duration = Duration::from_millis(20);

/// Longest wait between tries.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Batching and request settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Documents per request at most.
    pub batch_docs: usize,
    /// Bytes per request at most.
    pub batch_bytes: usize,
    /// A partial batch goes this long after its first line was read.
    pub flush_interval: Duration,
    /// gzip level (0: none).
    pub compression: u32,
}

/// One stream's shipper.
#[derive(Debug)]
pub struct Shipper {
    /// Index prefix and id tag.
    pub target: Target,
    /// The log being read, and the place confirmed (a crash re-sends what came after it,
    /// which the ids make harmless).
    pub log: Follower,
    /// The indexer.
    pub client: Client,
    /// Batching.
    pub settings: Settings,
    /// GeoIP database.
    pub geo: Option<Arc<Geo>>,
    /// Where refused documents go.
    pub dead: DeadLetter,
    /// Counters.
    pub stats: Arc<Stats>,
    /// The index template to install when absent, once.
    pub template: Option<Bytes>,
    /// Lines read but not in a batch yet.
    carry: Option<Chunk>,
    /// Lines that were not documents.
    bad_lines: u64,
    last_lag: Option<Instant>,
}

/// The start of an answer's body, for a log line.
fn excerpt(body: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(&body[..body.len().min(2048)])
}

/// Doubling waits, reset by a success.
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn wait(&mut self, hint: Option<Duration>) {
        self.failures += 1;
        let wait = hint.unwrap_or(Duration::from_millis(100 << self.failures.min(9))).min(MAX_BACKOFF);
        std::thread::sleep(wait);
    }
}

impl Shipper {
    /// A shipper over `tail` (already at the kept place).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        target: Target,
        log: Follower,
        client: Client,
        settings: Settings,
        geo: Option<Arc<Geo>>,
        dead: DeadLetter,
        stats: Arc<Stats>,
        template: Option<Bytes>,
    ) -> Self {
        Self { target, log, client, settings, geo, dead, stats, template, carry: None, bad_lines: 0, last_lag: None }
    }

    /// Ships for as long as the process runs.
    pub fn run(mut self) {
        loop {
            let batch = self.fill();
            if batch.is_empty() {
                self.log.flush();
                self.measure_lag(true);
                std::thread::sleep(IDLE);
                continue;
            }
            self.install_template();
            let end = batch.docs.last().map(|d| d.end);
            self.deliver(batch);
            if let Some(end) = end {
                self.log.confirm(end, false);
            }
            self.measure_lag(false);
        }
    }

    /// Whether `batch` takes no more lines.
    fn full(&self, batch: &Batch) -> bool {
        batch.len() >= self.settings.batch_docs || batch.body.len() >= self.settings.batch_bytes
    }

    /// Reads lines into a batch until it is full, or the log has nothing more and the batch's
    /// first line is `flush_interval` old.
    pub fn fill(&mut self) -> Batch {
        let mut batch = Batch::default();
        let mut first: Option<Instant> = None;
        while !self.full(&batch) {
            let mut chunk = match self.carry.take() {
                Some(c) => c,
                None => self.log.read(self.settings.batch_bytes.saturating_sub(batch.body.len())),
            };
            if chunk.is_empty() {
                match first {
                    Some(at) if at.elapsed() < self.settings.flush_interval => {
                        std::thread::sleep(IDLE.min(self.settings.flush_interval));
                        continue;
                    }
                    _ => return batch,
                }
            }
            self.stats.skipped.store(self.log.skipped() + self.bad_lines, Ordering::Relaxed);
            while !chunk.is_empty() {
                if self.full(&batch) {
                    self.carry = Some(chunk);
                    return batch;
                }
                let Some((line, at, end)) = chunk.next_line() else { break };
                match batch.push(line, at, end, self.target, self.geo.as_deref()) {
                    Ok(()) => {
                        if first.is_none() {
                            first = Some(Instant::now());
                            let time = batch.docs.last().map_or(0, |d| d.time_ms);
                            self.stats.oldest_pending_ms.store(time, Ordering::Relaxed);
                        }
                    }
                    Err(e) => {
                        self.bad_lines += 1;
                        tracing::error!(
                            stage = "indexer",
                            stream = self.stats.stream,
                            offset = at.offset,
                            "log line skipped: {e}"
                        );
                        self.dead.write(self.stats.stream, None, &e.to_string(), line);
                    }
                }
            }
        }
        batch
    }

    /// Sends `batch` until every document is indexed or dead-lettered.
    pub fn deliver(&mut self, batch: Batch) {
        let mut backoff = Backoff::default();
        let mut refused_auth = false;
        let mut work = vec![batch];
        while let Some(batch) = work.pop() {
            let request = Request {
                method: hyper::Method::POST,
                path: "/_bulk",
                body: self.body(&batch.body),
                content_type: "application/x-ndjson",
                gzip: self.settings.compression > 0,
            };
            let reply = self.client.send(&request);
            *crate::sync::lock(&self.stats.hosts) = self.client.health();
            let reply = match reply {
                Ok(r) => r,
                Err(e) => {
                    if backoff.failures == 0 {
                        tracing::error!(
                            stage = "indexer",
                            stream = self.stats.stream,
                            docs = batch.len(),
                            "{e}; retrying"
                        );
                    }
                    self.stats.retried.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    backoff.wait(None);
                    self.measure_lag(false);
                    work.push(batch);
                    continue;
                }
            };
            match reply.status {
                200..=299 => {
                    self.stats.bulks.fetch_add(1, Ordering::Relaxed);
                    match bulk::outcome(&reply.body, batch.len()) {
                        Ok(outcome) => {
                            self.account(&batch, outcome.done.len());
                            for (i, status, reason) in &outcome.failed {
                                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                                tracing::warn!(
                                    stage = "indexer",
                                    stream = self.stats.stream,
                                    status,
                                    "document refused: {reason}"
                                );
                                self.dead.write(self.stats.stream, Some(*status), reason, batch.source(*i));
                            }
                            if outcome.retry.is_empty() {
                                backoff = Backoff::default();
                            } else {
                                self.stats.retried.fetch_add(outcome.retry.len() as u64, Ordering::Relaxed);
                                backoff.wait(reply.retry_after);
                                work.push(batch.subset(outcome.retry));
                            }
                        }
                        Err(e) => {
                            tracing::error!(stage = "indexer", stream = self.stats.stream, "{e}; retrying");
                            self.stats.retried.fetch_add(batch.len() as u64, Ordering::Relaxed);
                            backoff.wait(None);
                            work.push(batch);
                        }
                    }
                }
                400 | 413 if batch.len() > 1 => {
                    // Too large, or one bad document spoiling the request: halves, first half
                    // first, down to the document at fault.
                    let half = batch.len() / 2;
                    tracing::warn!(
                        stage = "indexer",
                        status = reply.status,
                        docs = batch.len(),
                        "request refused: splitting it"
                    );
                    work.push(batch.subset(half..batch.len()));
                    work.push(batch.subset(0..half));
                }
                status @ (400 | 413) => {
                    // One document the indexer will never take: retrying cannot help.
                    let reason = excerpt(&reply.body).into_owned();
                    tracing::error!(stage = "indexer", status, "document refused: {reason}");
                    self.stats.failed.fetch_add(1, Ordering::Relaxed);
                    self.dead.write(self.stats.stream, Some(status), &reason, batch.source(0));
                }
                status => {
                    // Busy, failing, refusing the credentials, or answering oddly (a proxy's 404
                    // or 408): never a reason to drop alerts; back off and send again.
                    if (status == 401 || status == 403) && !refused_auth {
                        refused_auth = true;
                        tracing::error!(
                            stage = "indexer",
                            status,
                            "the indexer refused the credentials or their rights: check <credentials_file>; retrying"
                        );
                    } else if backoff.failures == 0 {
                        tracing::warn!(stage = "indexer", status, "the indexer is busy or failing; backing off");
                    }
                    self.stats.retried.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    backoff.wait(reply.retry_after);
                    self.measure_lag(false);
                    work.push(batch);
                }
            }
        }
    }

    fn account(&self, batch: &Batch, done: usize) {
        self.stats.shipped.fetch_add(done as u64, Ordering::Relaxed);
        if done > 0 {
            let per = (batch.body.len() / batch.len().max(1)) as u64;
            let before = self.stats.doc_bytes.load(Ordering::Relaxed);
            let mean = if before == 0 { per } else { (before * 7 + per) / 8 };
            self.stats.doc_bytes.store(mean, Ordering::Relaxed);
        }
    }

    fn body(&self, ndjson: &[u8]) -> Bytes {
        if self.settings.compression == 0 {
            return Bytes::copy_from_slice(ndjson);
        }
        let mut gz = flate2::write::GzEncoder::new(
            Vec::with_capacity(ndjson.len() / 4),
            flate2::Compression::new(self.settings.compression),
        );
        // Writing to memory cannot fail.
        let _ = gz.write_all(ndjson);
        Bytes::from(gz.finish().unwrap_or_default())
    }

    /// Installs the index template when the indexer has none by that name; until it can ask,
    /// nothing is shipped (an index made without it would keep the wrong mappings).
    fn install_template(&mut self) {
        let Some(template) = self.template.clone() else { return };
        let mut backoff = Backoff::default();
        loop {
            let get = Request {
                method: hyper::Method::GET,
                path: "/_template/wazuh",
                body: Bytes::new(),
                content_type: "application/json",
                gzip: false,
            };
            let put = Request { method: hyper::Method::PUT, body: template.clone(), ..get.clone() };
            let answer = self.client.send(&get).and_then(|r| match r.status {
                404 => self.client.send(&put),
                _ => Ok(r),
            });
            match answer {
                Ok(r) if (200..300).contains(&r.status) => {
                    tracing::info!(stage = "indexer", "the index template 'wazuh' is in place");
                    self.template = None;
                    return;
                }
                Ok(r) if (400..500).contains(&r.status) && ![401, 403, 408, 429].contains(&r.status) => {
                    // The template itself is refused: asking again cannot help, and holding
                    // every alert back for it would be worse than default mappings.
                    tracing::error!(
                        stage = "indexer",
                        status = r.status,
                        "the indexer refused the index template, shipping without it: {}",
                        excerpt(&r.body)
                    );
                    self.template = None;
                    return;
                }
                Ok(r) => tracing::error!(
                    stage = "indexer",
                    status = r.status,
                    "cannot install the index template: {}",
                    excerpt(&r.body)
                ),
                Err(e) => tracing::error!(stage = "indexer", "cannot check the index template: {e}"),
            }
            backoff.wait(None);
        }
    }

    /// Recomputes the lag at most once a second (`idle`: caught up with the log for now).
    fn measure_lag(&mut self, idle: bool) {
        if idle && self.carry.is_none() {
            self.stats.oldest_pending_ms.store(0, Ordering::Relaxed);
        }
        if self.last_lag.is_some_and(|at| at.elapsed() < Duration::from_secs(1)) {
            return;
        }
        self.last_lag = Some(Instant::now());
        self.stats.lag_bytes.store(self.log.lag_bytes(), Ordering::Relaxed);
    }
}
