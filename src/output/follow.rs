//! A registered reader of the log: its tail, and the place it has confirmed, kept in the store
//! at most every [`SAVE_EVERY`] (a crash re-reads what came after it: at least once). The
//! indexer shipper, integrations, email and active response each follow the log this way, so a
//! slow one holds only itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::consumers::{Consumers, Position};
use super::segments::Stream;
use super::tail::{Chunk, Tail};

/// How often the confirmed place is written to the store at most.
pub const SAVE_EVERY: Duration = Duration::from_millis(500);

/// One reader of one stream.
#[derive(Debug)]
pub struct Follower {
    name: String,
    tail: Tail,
    consumers: Arc<Consumers>,
    confirmed: Option<Position>,
    unsaved: Option<Position>,
    last_save: Option<Instant>,
}

impl Follower {
    /// Registers reader `name` of `stream` and opens the stream at its kept place (or at the
    /// start of the current file the first time).
    pub fn open(name: &str, stream: Stream, consumers: &Arc<Consumers>) -> anyhow::Result<Self> {
        let place = consumers.register(name, &stream).context("cannot read the kept place")?;
        Self::at(name, stream, consumers, place)
    }

    /// Like [`Self::open`], but the first time (no kept place) from the end of the current
    /// file: a service enabled today is not sent the whole day's alerts.
    pub fn open_from_now(name: &str, stream: Stream, consumers: &Arc<Consumers>) -> anyhow::Result<Self> {
        let place = consumers.register(name, &stream).context("cannot read the kept place")?;
        if place.is_some() {
            return Self::at(name, stream, consumers, place);
        }
        let mut tail = Tail::open(stream, None).context("cannot open the log")?;
        tail.skip_to_end().context("cannot open the log")?;
        Ok(Self::with(name, tail, consumers))
    }

    /// Opens `stream` at `place` for reader `name`, registered already.
    pub fn at(name: &str, stream: Stream, consumers: &Arc<Consumers>, place: Option<Position>) -> anyhow::Result<Self> {
        let tail = Tail::open(stream, place).context("cannot open the log")?;
        Ok(Self::with(name, tail, consumers))
    }

    fn with(name: &str, tail: Tail, consumers: &Arc<Consumers>) -> Self {
        let mut follower = Self {
            name: name.to_owned(),
            tail,
            consumers: Arc::clone(consumers),
            confirmed: None,
            unsaved: None,
            last_save: None,
        };
        if let Some(start) = follower.tail.position() {
            follower.confirm(start, true);
        }
        follower
    }

    /// The reader's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads whole lines, about `max` bytes; an empty chunk means nothing new. A read error is
    /// logged and taken as nothing new (the next read tries again).
    pub fn read(&mut self, max: usize) -> Chunk {
        self.tail.read(max).unwrap_or_else(|e| {
            tracing::error!(stage = "output", consumer = %self.name, "cannot read the log: {e}");
            Chunk::default()
        })
    }

    /// Lines skipped as torn or oversize so far.
    pub fn skipped(&self) -> u64 {
        self.tail.skipped()
    }

    /// Records that everything before `place` is done; written to the store now when `now`,
    /// otherwise when [`SAVE_EVERY`] has passed since the last write.
    pub fn confirm(&mut self, place: Position, now: bool) {
        self.confirmed = Some(place);
        if !now && self.last_save.is_some_and(|at| at.elapsed() < SAVE_EVERY) {
            self.unsaved = Some(place);
            return;
        }
        match self.consumers.save(&self.name, place) {
            Ok(()) => (self.last_save, self.unsaved) = (Some(Instant::now()), None),
            Err(e) => tracing::error!(stage = "output", consumer = %self.name, "cannot keep the reading place: {e}"),
        }
    }

    /// Writes a confirmed place that is still only in memory (when the reader is idle).
    pub fn flush(&mut self) {
        if let Some(place) = self.unsaved.take() {
            self.confirm(place, true);
        }
    }

    /// Follows the log for as long as the process runs: each line goes to `line`, its place is
    /// confirmed once `line` returns, `pass` runs after each read (lines or none), and an idle
    /// reader writes its place and sleeps `idle`.
    pub fn follow(mut self, idle: Duration, mut line: impl FnMut(&[u8]), mut pass: impl FnMut()) -> ! {
        loop {
            let mut chunk = self.read(256 << 10);
            let nothing = chunk.is_empty();
            while let Some((text, _, end)) = chunk.next_line() {
                line(text);
                self.confirm(end, false);
            }
            pass();
            if nothing {
                self.flush();
                std::thread::sleep(idle);
            }
        }
    }

    /// Bytes of the log after the confirmed place.
    pub fn lag_bytes(&self) -> u64 {
        self.confirmed.map_or(Ok(0), |place| self.tail.remaining_after(place)).unwrap_or(0)
    }
}
