//! The durable alert log: one writer thread takes what the cores analysed, through one bounded
//! queue, and appends it to the day's files with group commit (an fsync every
//! `sync_interval` or `sync_bytes`, whichever comes first). An event is accepted once its lines
//! are in the log. When the queue is full the cores wait (and so stop reading agents); when
//! the disk is full the writer keeps the lines, reports, and tries again, so nothing is dropped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::totals::{Counted, Totals};
use super::writer::Writer;
use crate::engine::emit::Emitted;

/// Batches queued at most before the cores wait.
const QUEUE: usize = 64;

/// How long a failed write waits before it is tried again.
const RETRY: Duration = Duration::from_millis(500);

/// When written lines are forced to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Durability {
    /// At most this long after a write (0: after every write).
    pub sync_interval: Duration,
    /// Or once this many bytes were written since the last sync.
    pub sync_bytes: u64,
}

impl Default for Durability {
    fn default() -> Self {
        Self { sync_interval: Duration::from_millis(100), sync_bytes: 1 << 20 }
    }
}

/// What one core analysed together.
#[derive(Debug, Default)]
pub struct Batch {
    /// The lines each event left.
    pub emitted: Vec<Emitted>,
    /// Each event, for the hourly totals.
    pub counted: Vec<Counted>,
    /// Events a decoder matched.
    pub decoded: u64,
    /// When they were received (Unix seconds).
    pub now: i64,
}

/// The log's counters, read by the API and metrics.
#[derive(Debug)]
pub struct Counts {
    /// Events written (analysed and accepted).
    pub events: AtomicU64,
    /// Events a decoder matched, once written.
    pub decoded: AtomicU64,
    /// Alerts written.
    pub alerts: AtomicU64,
    /// Bytes written.
    pub bytes: AtomicU64,
    /// fsyncs done.
    pub syncs: AtomicU64,
    /// Writes that failed (each is retried).
    pub write_errors: AtomicU64,
    /// The writer is waiting on a failing disk (the cores wait with it).
    pub stalled: AtomicBool,
    /// analysisd's hourly totals.
    pub totals: Totals,
}

impl Counts {
    /// Counters with the hourly totals written under `totals_dir`.
    pub fn new(totals_dir: std::path::PathBuf) -> Self {
        Self {
            events: AtomicU64::new(0),
            decoded: AtomicU64::new(0),
            alerts: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            syncs: AtomicU64::new(0),
            write_errors: AtomicU64::new(0),
            stalled: AtomicBool::new(false),
            totals: Totals::new(totals_dir),
        }
    }
}

enum Message {
    Batch(Batch),
    /// Everything before it written and synced; then answer.
    Barrier(SyncSender<()>),
    /// Write and sync what is queued, then end.
    Stop,
}

/// The writer thread and its queue.
#[derive(Debug)]
pub struct AlertLog {
    queue: SyncSender<Message>,
    counts: Arc<Counts>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Batch(_) => "Batch",
            Self::Barrier(_) => "Barrier",
            Self::Stop => "Stop",
        })
    }
}

impl AlertLog {
    /// Starts the writer thread over `writer`.
    pub fn start(writer: Writer, durability: Durability, counts: Arc<Counts>) -> std::io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
        let thread_counts = Arc::clone(&counts);
        let thread = std::thread::Builder::new()
            .name("vigil-alert-log".into())
            .spawn(move || run(writer, durability, &rx, &thread_counts))?;
        Ok(Self { queue: tx, counts, thread: Mutex::new(Some(thread)) })
    }

    /// The counters.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Queues a batch, waiting while the queue is full (backpressure on the caller).
    pub fn append(&self, batch: Batch) {
        let events = batch.emitted.len();
        if self.queue.send(Message::Batch(batch)).is_err() {
            tracing::error!(stage = "output", events, "the alert log is stopped: events not written");
        }
    }

    /// Waits until everything queued before is written and synced.
    pub fn barrier(&self) {
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel(1);
        if self.queue.send(Message::Barrier(done_tx)).is_ok() {
            let _ = done_rx.recv();
        }
    }

    /// Writes and syncs what is queued, then stops the writer.
    pub fn stop(&self) {
        let _ = self.queue.send(Message::Stop);
        if let Some(thread) = crate::sync::lock(&self.thread).take()
            && thread.join().is_err()
        {
            tracing::error!(stage = "output", "the alert log writer panicked");
        }
    }
}

/// The writer loop: take what is queued, write it, sync when due; until told to stop.
fn run(mut writer: Writer, durability: Durability, rx: &Receiver<Message>, counts: &Counts) {
    let mut unsynced = 0u64;
    let mut first_unsynced: Option<Instant> = None;
    let mut open = true;
    while open {
        let wait = first_unsynced
            .map_or(Duration::from_secs(3600), |at| durability.sync_interval.saturating_sub(at.elapsed()));
        let mut batches = Vec::new();
        let mut barriers = Vec::new();
        match rx.recv_timeout(wait) {
            Ok(m) => open &= take(m, &mut batches, &mut barriers),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => open = false,
        }
        // Group commit: whatever else is queued goes out with it (all of it when stopping).
        while batches.len() < QUEUE || !open {
            match rx.try_recv() {
                Ok(m) => open &= take(m, &mut batches, &mut barriers),
                Err(_) => break,
            }
        }
        let written = write(&mut writer, &batches, counts);
        account(&batches, counts);
        unsynced += written;
        if written > 0 && first_unsynced.is_none() {
            first_unsynced = Some(Instant::now());
        }
        let due = first_unsynced.is_some_and(|at| at.elapsed() >= durability.sync_interval)
            || unsynced >= durability.sync_bytes;
        if unsynced > 0 && (due || !barriers.is_empty() || !open) {
            sync(&mut writer, counts);
            (unsynced, first_unsynced) = (0, None);
        }
        for done in barriers {
            let _ = done.send(());
        }
    }
}

/// Sorts a message; false when it says stop.
fn take(message: Message, batches: &mut Vec<Batch>, barriers: &mut Vec<SyncSender<()>>) -> bool {
    match message {
        Message::Batch(b) => batches.push(b),
        Message::Barrier(done) => barriers.push(done),
        Message::Stop => return false,
    }
    true
}

/// Writes the batches, retrying until the disk takes them. Returns the bytes written.
fn write(writer: &mut Writer, batches: &[Batch], counts: &Counts) -> u64 {
    for batch in batches {
        for emitted in &batch.emitted {
            retry(counts, "cannot open the next log file", || writer.write(emitted, batch.now));
        }
    }
    let bytes = retry(counts, "cannot write alerts", || writer.flush()) as u64;
    counts.bytes.fetch_add(bytes, Ordering::Relaxed);
    bytes
}

/// Runs `f` until it succeeds, reporting the first failure and the recovery.
fn retry<T>(counts: &Counts, what: &str, mut f: impl FnMut() -> std::io::Result<T>) -> T {
    let mut failures = 0u64;
    loop {
        match f() {
            Ok(v) => {
                if failures > 0 {
                    counts.stalled.store(false, Ordering::Relaxed);
                    tracing::info!(stage = "output", failures, "the alert log is written again");
                }
                return v;
            }
            Err(e) => {
                counts.write_errors.fetch_add(1, Ordering::Relaxed);
                if failures == 0 {
                    counts.stalled.store(true, Ordering::Relaxed);
                    tracing::error!(stage = "output", "{what}: {e}; agents wait until it can be written");
                }
                failures += 1;
                std::thread::sleep(RETRY);
            }
        }
    }
}

fn sync(writer: &mut Writer, counts: &Counts) {
    match writer.sync() {
        Ok(()) => {
            counts.syncs.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            counts.write_errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(stage = "output", "cannot sync the alert log: {e}");
        }
    }
}

/// Counted once written, so a reader of the counts finds the lines on disk.
fn account(batches: &[Batch], counts: &Counts) {
    for batch in batches {
        counts.events.fetch_add(batch.emitted.len() as u64, Ordering::Relaxed);
        let alerts = batch.emitted.iter().filter(|e| e.id.is_some()).count() as u64;
        counts.alerts.fetch_add(alerts, Ordering::Relaxed);
        counts.decoded.fetch_add(batch.decoded, Ordering::Relaxed);
        counts.totals.count(batch.now, batch.counted.iter().copied());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::emit::Outputs;
    use crate::output::daily::Rotation;

    fn emitted(line: &str) -> Emitted {
        Emitted { alert_json: Some(format!("{line}\n")), ..Emitted::default() }
    }

    #[test]
    fn a_late_batch_from_before_midnight_stays_in_the_new_day() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outputs = Outputs { alerts_json: true, alerts_log: false, archives_json: false, archives_log: false };
        let noon = 1_800_000_000 - 1_800_000_000 % 86_400 + 43_200;
        let mut writer = Writer::open(dir.path(), outputs, Rotation::default(), noon).expect("writer");
        let tomorrow = noon + 86_400;
        writer.write(&emitted("{\"n\":1}"), tomorrow).expect("write");
        writer.write(&emitted("{\"n\":0}"), noon).expect("write");
        writer.flush().expect("flush");
        let text = std::fs::read_to_string(dir.path().join("alerts/alerts.json")).expect("read");
        assert_eq!(text, "{\"n\":1}\n{\"n\":0}\n", "once in a new day, never back");
    }

    #[test]
    fn batches_are_written_in_order_and_counted_after_the_write() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outputs = Outputs { alerts_json: true, alerts_log: false, archives_json: false, archives_log: false };
        let now = 1_800_000_000;
        let writer = Writer::open(dir.path(), outputs, Rotation::default(), now).expect("writer");
        let counts = Arc::new(Counts::new(dir.path().join("totals")));
        let log = AlertLog::start(writer, Durability::default(), Arc::clone(&counts)).expect("start");
        for i in 0..200 {
            log.append(Batch { emitted: vec![emitted(&format!("{{\"n\":{i}}}"))], now, ..Batch::default() });
        }
        log.barrier();
        assert_eq!(counts.events.load(Ordering::Relaxed), 200);
        assert!(counts.syncs.load(Ordering::Relaxed) >= 1, "a barrier syncs");
        let text = std::fs::read_to_string(dir.path().join("alerts/alerts.json")).expect("read");
        let expected: String = (0..200).map(|i| format!("{{\"n\":{i}}}\n")).collect();
        assert_eq!(text, expected);
        log.append(Batch { emitted: vec![emitted("{\"last\":1}")], now, ..Batch::default() });
        log.stop();
        let text = std::fs::read_to_string(dir.path().join("alerts/alerts.json")).expect("read");
        assert!(text.ends_with("{\"last\":1}\n"), "stop writes what was queued");
    }
}
