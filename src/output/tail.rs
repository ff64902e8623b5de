//! Reading a stream from a place, across rotations: whole lines only, each with the place it
//! starts at, moving to the next segment once the writer has moved on and this one is read to
//! its end. What a reader has confirmed is up to it ([`super::consumers`]); the tail only reads
//! ahead.

use std::fs::File;
use std::os::unix::fs::{FileExt as _, MetadataExt as _};

use super::consumers::Position;
use super::segments::{Segment, SegmentId, Stream};

/// Longest line taken; a longer one is skipped as corrupt (alerts are at most ~64 KiB).
const MAX_LINE: usize = 16 << 20;

/// A stream being read.
#[derive(Debug)]
pub struct Tail {
    stream: Stream,
    segment: SegmentId,
    file: Option<File>,
    inode: u64,
    offset: u64,
    /// Lines found torn or too long, skipped.
    skipped: u64,
}

/// Whole lines read together from one segment, taken one by one.
#[derive(Debug, Default)]
pub struct Chunk {
    /// The lines, each with its newline.
    data: Vec<u8>,
    /// Where the first line starts.
    start: Option<Position>,
    /// Bytes already taken.
    taken: usize,
}

impl Chunk {
    /// No line left to take.
    pub fn is_empty(&self) -> bool {
        self.taken >= self.data.len()
    }

    /// The next line (without its newline), the place it starts at and the place after it.
    pub fn next_line(&mut self) -> Option<(&[u8], Position, Position)> {
        let start = self.start?;
        let rest = self.data.get(self.taken..).filter(|r| !r.is_empty())?;
        let len = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        let at = Position { offset: start.offset + self.taken as u64, ..start };
        let end = Position { offset: at.offset + len as u64, ..start };
        let line = &self.data[self.taken..self.taken + len];
        self.taken += len;
        Some((line.strip_suffix(b"\n").unwrap_or(line), at, end))
    }
}

impl Tail {
    /// Reads `stream` from `from`, or from the start of its current file when there is no
    /// place yet (or the place's file is gone).
    pub fn open(stream: Stream, from: Option<Position>) -> std::io::Result<Self> {
        let mut tail = Self {
            stream,
            segment: SegmentId { day: jiff::civil::date(1970, 1, 1), number: 0 },
            file: None,
            inode: 0,
            offset: 0,
            skipped: 0,
        };
        match from {
            Some(place) if tail.stream.path(place.segment).is_file() => {
                let len = tail.enter(place.segment)?;
                let file = tail.stream.path(place.segment);
                if tail.inode == place.inode && place.offset <= len {
                    tail.offset = place.offset;
                } else if tail.inode == place.inode {
                    // The file lost its unsynced end (a power cut): go on from where it ends.
                    tracing::warn!(stage = "output", file = %file.display(), offset = place.offset, len, "the file is shorter than the place last read: reading on from its end");
                    tail.offset = len;
                } else {
                    tracing::warn!(stage = "output", file = %file.display(), "the file was replaced since it was last read: reading it from the start");
                }
            }
            Some(place) => {
                tracing::warn!(stage = "output", file = %tail.stream.path(place.segment).display(), "the file last read is gone: going on with the next one");
                tail.segment = place.segment;
                tail.advance()?;
            }
            None => {
                if let Some(last) = tail.stream.segments()?.into_iter().rev().find(|s| !s.compressed) {
                    tail.enter(last.id)?;
                }
            }
        }
        Ok(tail)
    }

    /// Moves to the end of the current file: what is there now is never read (a reader that
    /// starts following the log from now on, as integratord does).
    pub fn skip_to_end(&mut self) -> std::io::Result<()> {
        if let Some(file) = &self.file {
            self.offset = file.metadata()?.len();
        }
        Ok(())
    }

    /// The next byte to read.
    pub fn position(&self) -> Option<Position> {
        self.file.as_ref().map(|_| Position { segment: self.segment, inode: self.inode, offset: self.offset })
    }

    /// Lines found torn or too long and skipped so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Bytes after `place`: the rest of its file and every later one.
    pub fn remaining_after(&self, place: Position) -> std::io::Result<u64> {
        let mut total = 0;
        for segment in self.stream.segments()? {
            if segment.compressed || segment.id < place.segment {
                continue;
            }
            let size = std::fs::metadata(&segment.path).map_or(0, |m| m.len());
            total += if segment.id == place.segment { size.saturating_sub(place.offset) } else { size };
        }
        Ok(total)
    }

    /// Opens segment `id` at its start; gives its length.
    fn enter(&mut self, id: SegmentId) -> std::io::Result<u64> {
        let file = File::open(self.stream.path(id))?;
        let meta = file.metadata()?;
        self.inode = meta.ino();
        (self.segment, self.file, self.offset) = (id, Some(file), 0);
        Ok(meta.len())
    }

    /// Moves to the first uncompressed segment after the current one, if there is one.
    fn advance(&mut self) -> std::io::Result<bool> {
        let next = self.stream.segments()?.into_iter().find(|s: &Segment| s.id > self.segment && !s.compressed);
        match next {
            Some(s) => self.enter(s.id).map(|_| true),
            None => Ok(false),
        }
    }

    /// Whether the writer has moved to another file (the fixed name no longer points at ours).
    fn writer_moved_on(&self) -> bool {
        match std::fs::metadata(self.stream.link_path()) {
            Ok(meta) => meta.ino() != self.inode,
            Err(_) => self.stream.segments().is_ok_and(|all| all.iter().any(|s| s.id > self.segment)),
        }
    }

    /// Reads whole lines, about `max` bytes of them (at least one line when there is one). An
    /// empty chunk means nothing new for now.
    pub fn read(&mut self, max: usize) -> std::io::Result<Chunk> {
        loop {
            if self.file.is_none() && !self.advance()? {
                return Ok(Chunk::default());
            }
            // Checked before reading: if the writer had moved on, what is read is all there is.
            let moved_on = self.writer_moved_on();
            let chunk = self.read_lines(max, moved_on)?;
            if !chunk.is_empty() || !moved_on || !self.advance()? {
                return Ok(chunk);
            }
        }
    }

    fn read_lines(&mut self, max: usize, finished: bool) -> std::io::Result<Chunk> {
        let Some(file) = &self.file else { return Ok(Chunk::default()) };
        // Sized by what the file holds past the offset: polling an idle log costs a stat.
        let available = file.metadata()?.len().saturating_sub(self.offset);
        if available == 0 {
            return Ok(Chunk::default());
        }
        let mut data = vec![0u8; usize::try_from(available).unwrap_or(usize::MAX).min(max.max(4096))];
        let mut filled = 0;
        loop {
            let n = file.read_at(&mut data[filled..], self.offset + filled as u64)?;
            filled += n;
            let last_newline = memchr::memrchr(b'\n', &data[..filled]);
            match last_newline {
                Some(end) if n == 0 || filled == data.len() || end + 1 == filled => {
                    data.truncate(end + 1);
                    let start = Position { segment: self.segment, inode: self.inode, offset: self.offset };
                    self.offset += data.len() as u64;
                    return Ok(Chunk { data, start: Some(start), taken: 0 });
                }
                Some(_) => continue,
                None if n == 0 => {
                    if filled > 0 && finished {
                        self.skip(filled, "a torn line at the end of a finished file");
                    }
                    return Ok(Chunk::default());
                }
                None if filled == data.len() => {
                    if data.len() >= MAX_LINE {
                        // Skip to the end of the monster line (or of what is there of it).
                        let rest = self.skip_line(filled)?;
                        self.skip(rest, "a line longer than 16 MiB");
                        return Ok(Chunk::default());
                    }
                    data.resize(data.len() * 2, 0);
                }
                None => {}
            }
        }
    }

    /// Bytes from the offset to the end of the line there (or of the file).
    fn skip_line(&self, from: usize) -> std::io::Result<usize> {
        let Some(file) = &self.file else { return Ok(from) };
        let mut buf = vec![0u8; 1 << 16];
        let mut at = from;
        loop {
            let n = file.read_at(&mut buf, self.offset + at as u64)?;
            if n == 0 {
                return Ok(at);
            }
            if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
                return Ok(at + i + 1);
            }
            at += n;
        }
    }

    fn skip(&mut self, bytes: usize, what: &str) {
        self.skipped += 1;
        tracing::error!(stage = "output", file = %self.stream.path(self.segment).display(), offset = self.offset, bytes, "skipped {what}");
        self.offset += bytes as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::super::daily::{DailyLog, Rotation};
    use super::*;

    fn stream(dir: &std::path::Path) -> Stream {
        Stream { dir: dir.to_owned(), tag: "alerts", ext: "json", link: "alerts.json" }
    }

    fn all_lines(tail: &mut Tail, max: usize) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        loop {
            let mut chunk = tail.read(max).expect("read");
            if chunk.is_empty() {
                return out;
            }
            while let Some((line, at, _)) = chunk.next_line() {
                out.push((String::from_utf8_lossy(line).into_owned(), at.offset));
            }
        }
    }

    #[test]
    fn reads_whole_lines_across_rotation_and_resumes_from_a_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d1 = jiff::civil::date(2026, 11, 27);
        let d2 = jiff::civil::date(2026, 11, 28);
        let mut log = DailyLog::open(stream(dir.path()), Rotation::default(), d1, 0).expect("open");
        log.append(b"one\ntwo\n", d1, 0).expect("append");
        log.flush().expect("flush");
        let mut tail = Tail::open(stream(dir.path()), None).expect("tail");
        assert_eq!(all_lines(&mut tail, 4), [("one".into(), 0), ("two".into(), 4)]);
        let place = tail.position().expect("a place");

        // Half a line is not taken until its newline arrives.
        std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"thr"))
            .expect("torn");
        assert!(all_lines(&mut tail, 64).is_empty());
        std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"ee\n"))
            .expect("rest");
        log = DailyLog::open(stream(dir.path()), Rotation::default(), d1, 0).expect("reopen");
        log.append(b"four\n", d2, 90_000).expect("next day");
        log.flush().expect("flush");
        let lines = all_lines(&mut tail, 64);
        assert_eq!(lines, [("three".into(), 8), ("four".into(), 0)]);
        assert_eq!(tail.position().map(|p| p.segment.day), Some(d2));

        // From the saved place, the rest again: nothing lost, nothing repeated.
        let mut again = Tail::open(stream(dir.path()), Some(place)).expect("tail");
        assert_eq!(all_lines(&mut again, 64).len(), 2);
        assert_eq!(again.skipped(), 0);
    }

    #[test]
    fn a_place_past_the_end_of_a_shortened_file_goes_on_from_its_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        let day = jiff::civil::date(2026, 11, 27);
        let mut log = DailyLog::open(stream(dir.path()), Rotation::default(), day, 0).expect("open");
        log.append(b"kept\n", day, 0).expect("append");
        log.flush().expect("flush");
        let inode = std::fs::metadata(log.path()).map(|m| m.ino()).expect("stat");
        // The place was taken before a power cut cut the file's unsynced end.
        let place = Position { segment: SegmentId { day, number: 0 }, inode, offset: 40 };
        let mut tail = Tail::open(stream(dir.path()), Some(place)).expect("tail");
        log.append(b"after\n", day, 0).expect("append");
        log.flush().expect("flush");
        assert_eq!(all_lines(&mut tail, 64), [("after".to_owned(), 5)]);
    }

    #[test]
    fn torn_lines_in_finished_files_are_skipped_and_counted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d1 = jiff::civil::date(2026, 11, 27);
        let d2 = jiff::civil::date(2026, 11, 28);
        let mut log = DailyLog::open(stream(dir.path()), Rotation::default(), d1, 0).expect("open");
        log.append(b"ok\n", d1, 0).expect("append");
        log.flush().expect("flush");
        // A crash left half a line; the next day's file follows.
        std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"{\"tor"))
            .expect("torn");
        log.append(b"next\n", d2, 90_000).expect("next day");
        log.flush().expect("flush");
        let mut tail = Tail::open(
            stream(dir.path()),
            Some(Position { segment: SegmentId { day: d1, number: 0 }, inode: 0, offset: 0 }),
        )
        .expect("tail");
        let lines: Vec<String> = all_lines(&mut tail, 64).into_iter().map(|(l, _)| l).collect();
        assert_eq!(lines, ["ok", "next"]);
        assert_eq!(tail.skipped(), 1);
    }
}
