//! One of analysisd's daily log streams (`alerts.json`, `alerts.log`, `archives.json`, …), kept
//! as Wazuh keeps them (`alerts/getloglocation.c`): the day's file is
//! `<dir>/<YYYY>/<Mon>/ossec-<tag>-<DD>.<ext>` and the fixed name (`<dir>/alerts.json`) is a hard
//! link to it; the next day opens a new file. With `rotate_interval` or `max_output_size` the day
//! continues in `ossec-<tag>-<DD>-<NNN>.<ext>`. A file left empty is removed when the stream
//! moves on. Files are 0640 and directories 0750 (analysisd's umask 027).
//!
//! Lines are gathered in memory and written by [`DailyLog::flush`], which is all or nothing: a
//! write cut short (a full disk) is truncated away and the lines kept for the next try, so a
//! retry never leaves half a line or a line twice.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::time::Duration;

use jiff::civil::Date;

use super::segments::SegmentId;
pub use super::segments::Stream;

/// When a stream starts a new file within the day (`<global>` and internal options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// `rotate_interval`: a new file this often, if the current one is not empty (0: never).
    pub interval: Duration,
    /// `max_output_size`: a new file once the current one is larger (0: no limit).
    pub max_size: u64,
    /// `analysisd.min_rotate_interval`: size rotation waits at least this long between files.
    pub min_interval: Duration,
}

impl Default for Rotation {
    fn default() -> Self {
        Self { interval: Duration::ZERO, max_size: 0, min_interval: Duration::from_secs(600) }
    }
}

/// An open stream.
#[derive(Debug)]
pub struct DailyLog {
    stream: Stream,
    rotation: Rotation,
    file: File,
    segment: SegmentId,
    /// Bytes in the file, counting those still in `pending` (what rotation looks at).
    size: u64,
    /// Bytes really in the file.
    written: u64,
    /// Lines not written yet.
    pending: Vec<u8>,
    /// Unix second of the last file change (for the interval rules).
    changed: i64,
}

impl DailyLog {
    /// Opens the stream for `day` at Unix second `now`, continuing the day's last file.
    pub fn open(stream: Stream, rotation: Rotation, day: Date, now: i64) -> std::io::Result<Self> {
        let segment = day_file(&stream, &rotation, day)?;
        let (file, size) = open_append(&stream, segment)?;
        Ok(Self { stream, rotation, file, segment, size, written: size, pending: Vec::new(), changed: now })
    }

    /// The file being written.
    pub fn path(&self) -> PathBuf {
        self.stream.path(self.segment)
    }

    /// Moves to a new file when `day` is not the current file's or a rotation is due at Unix
    /// second `now` (what is pending goes to the old file first). On error nothing changed.
    pub fn prepare(&mut self, day: Date, now: i64) -> std::io::Result<()> {
        if day != self.segment.day {
            let next = day_file(&self.stream, &self.rotation, day)?;
            self.switch(next, now)
        } else if self.rotation_due(now) {
            let next = SegmentId { day, number: self.segment.number + 1 };
            self.switch(next, now)
        } else {
            Ok(())
        }
    }

    /// Adds whole lines to the current file (written by the next flush).
    pub fn push(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        self.size += bytes.len() as u64;
    }

    /// [`prepare`](Self::prepare) then [`push`](Self::push).
    pub fn append(&mut self, bytes: &[u8], day: Date, now: i64) -> std::io::Result<()> {
        self.prepare(day, now)?;
        self.push(bytes);
        Ok(())
    }

    fn rotation_due(&self, now: i64) -> bool {
        let since = u64::try_from(now - self.changed).unwrap_or(0);
        let r = &self.rotation;
        if !r.interval.is_zero() {
            since > r.interval.as_secs() && self.size > 0
        } else {
            r.max_size > 0 && since > r.min_interval.as_secs() && self.size > r.max_size
        }
    }

    fn switch(&mut self, next: SegmentId, now: i64) -> std::io::Result<()> {
        self.flush()?;
        // Readers move on once the next file exists: this one is whole on disk first.
        self.file.sync_data()?;
        let (file, size) = open_append(&self.stream, next)?;
        if self.size == 0 {
            // Nothing was written to it: do not leave empty files behind.
            let _ = std::fs::remove_file(self.stream.path(self.segment));
        }
        (self.file, self.segment, self.size, self.written, self.changed) = (file, next, size, size, now);
        Ok(())
    }

    /// Writes what is pending, all or nothing: after an error the file is as before and the
    /// lines are still pending. Returns the bytes written.
    pub fn flush(&mut self) -> std::io::Result<usize> {
        if self.pending.is_empty() {
            return Ok(0);
        }
        if let Err(e) = self.file.write_all(&self.pending) {
            // Cut back to the last whole write; if even that fails the reader skips the torn line.
            if let Err(t) = self.file.set_len(self.written) {
                tracing::error!(stage = "output", file = %self.path().display(), "cannot cut back a torn write: {t}");
            }
            return Err(e);
        }
        let n = self.pending.len();
        self.written += n as u64;
        self.pending.clear();
        Ok(n)
    }

    /// Forces what was written to disk.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.file.sync_data()
    }
}

/// The day's segment to continue: the last one of the day (or the one after it when it is over
/// the size limit or already compressed), as Wazuh picks it on start; the base file for a new day.
fn day_file(stream: &Stream, rotation: &Rotation, day: Date) -> std::io::Result<SegmentId> {
    DirBuilder::new().recursive(true).mode(0o750).create(stream.month_dir(day))?;
    let last = stream.segments()?.into_iter().rfind(|s| s.id.day == day);
    Ok(match last {
        None => SegmentId { day, number: 0 },
        Some(s) => {
            let too_big =
                rotation.max_size > 0 && std::fs::metadata(&s.path).is_ok_and(|m| m.len() > rotation.max_size);
            if s.compressed || too_big { SegmentId { day, number: s.id.number + 1 } } else { s.id }
        }
    })
}

/// Opens segment `id` for appending (0640) and points the stream's fixed name at it.
fn open_append(stream: &Stream, id: SegmentId) -> std::io::Result<(File, u64)> {
    let path = stream.path(id);
    let file = OpenOptions::new().append(true).create(true).mode(0o640).open(&path)?;
    let size = file.metadata()?.len();
    let link = stream.link_path();
    match std::fs::remove_file(&link) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::hard_link(&path, &link)?;
    Ok((file, size))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    /// A home with `logs/alerts`, and the alerts.json stream in it.
    fn setup() -> (tempfile::TempDir, Stream) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("logs/alerts")).expect("mkdir");
        let stream = Stream { dir: dir.path().join("logs/alerts"), tag: "alerts", ext: "json", link: "alerts.json" };
        (dir, stream)
    }

    fn read(path: &std::path::Path) -> String {
        std::fs::read_to_string(path).unwrap_or_default()
    }

    #[test]
    fn daily_files_linked_under_the_fixed_name() {
        let (dir, s) = setup();
        let d1 = jiff::civil::date(2026, 11, 27);
        let mut log = DailyLog::open(s.clone(), Rotation::default(), d1, 0).expect("open");
        log.append(b"{\"a\":1}\n", d1, 1).expect("append");
        log.flush().expect("flush");
        let first = dir.path().join("logs/alerts/2026/Nov/ossec-alerts-27.json");
        assert_eq!(log.path(), first);
        let link = dir.path().join("logs/alerts/alerts.json");
        assert_eq!(read(&link), "{\"a\":1}\n");
        let meta = std::fs::metadata(&first).expect("stat");
        assert_eq!(meta.ino(), std::fs::metadata(&link).expect("stat").ino(), "a hard link");
        assert_eq!(meta.mode() & 0o777, 0o640);
        let month = std::fs::metadata(dir.path().join("logs/alerts/2026/Nov")).expect("stat");
        assert_eq!(month.mode() & 0o777, 0o750);

        let d2 = jiff::civil::date(2026, 12, 1);
        log.append(b"{\"b\":2}\n", d2, 90_000).expect("next day");
        log.flush().expect("flush");
        assert_eq!(read(&first), "{\"a\":1}\n", "yesterday's file is kept");
        assert_eq!(read(&link), "{\"b\":2}\n");
        assert!(dir.path().join("logs/alerts/2026/Dec/ossec-alerts-01.json").is_file());
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind_and_is_retried_whole() {
        let (dir, s) = setup();
        let day = jiff::civil::date(2026, 11, 27);
        let mut log = DailyLog::open(s, Rotation::default(), day, 0).expect("open");
        log.append(b"first\n", day, 0).expect("append");
        log.flush().expect("flush");
        // The disk is full: the write fails, the file keeps what it had, the lines wait.
        let real =
            std::mem::replace(&mut log.file, OpenOptions::new().write(true).open("/dev/full").expect("/dev/full"));
        log.append(b"second\n", day, 0).expect("append");
        let err = log.flush().expect_err("a full disk");
        assert_eq!(err.raw_os_error(), Some(28), "ENOSPC");
        log.file = real;
        let path = dir.path().join("logs/alerts/alerts.json");
        assert_eq!(read(&path), "first\n");
        assert_eq!(log.flush().expect("space again"), 7);
        assert_eq!(read(&path), "first\nsecond\n", "written once, whole");
    }

    #[test]
    fn a_restart_never_reuses_a_compressed_files_number() {
        let (dir, s) = setup();
        let day = jiff::civil::date(2026, 11, 27);
        let month = dir.path().join("logs/alerts/2026/Nov");
        std::fs::create_dir_all(&month).expect("mkdir");
        for name in ["ossec-alerts-27.json.gz", "ossec-alerts-27-001.json.gz"] {
            std::fs::write(month.join(name), b"gz").expect("write");
        }
        let log = DailyLog::open(s, Rotation::default(), day, 0).expect("open");
        assert_eq!(log.path(), month.join("ossec-alerts-27-002.json"));
    }

    #[test]
    fn empty_files_go_and_size_rotation_numbers_files() {
        let (dir, s) = setup();
        let d1 = jiff::civil::date(2026, 1, 5);
        let d2 = jiff::civil::date(2026, 1, 6);
        let rotation = Rotation { max_size: 10, min_interval: Duration::from_secs(60), ..Rotation::default() };
        let mut log = DailyLog::open(s.clone(), rotation, d1, 0).expect("open");
        log.append(b"", d2, 10).expect("roll");
        assert!(!dir.path().join("logs/alerts/2026/Jan/ossec-alerts-05.json").exists(), "an empty file is removed");
        log.append(b"0123456789ab\n", d2, 20).expect("write");
        log.append(b"too soon\n", d2, 30).expect("still the same file");
        log.append(b"later\n", d2, 200).expect("rotated");
        log.flush().expect("flush");
        assert_eq!(log.path(), dir.path().join("logs/alerts/2026/Jan/ossec-alerts-06-001.json"));
        assert_eq!(read(&dir.path().join("logs/alerts/alerts.json")), "later\n");
        drop(log);
        let reopened = DailyLog::open(s, rotation, d2, 300).expect("reopen");
        assert_eq!(reopened.path(), dir.path().join("logs/alerts/2026/Jan/ossec-alerts-06-001.json"));
    }
}
