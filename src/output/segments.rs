//! The files one stream is made of, in order. A stream's day file is
//! `<dir>/<YYYY>/<Mon>/ossec-<tag>-<DD>.<ext>`, its rotations within the day
//! `ossec-<tag>-<DD>-<NNN>.<ext>`, and a file every reader has passed may later be
//! `<…>.<ext>.gz`. Readers name their place by [`SegmentId`] (day and number), which survives
//! compression, and check the file's inode so a replaced file is noticed.

use std::path::{Path, PathBuf};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// Which stream: where it lives and what its files are called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    /// `logs/alerts`.
    pub dir: PathBuf,
    /// `alerts`, `archive`…
    pub tag: &'static str,
    /// `json` or `log`.
    pub ext: &'static str,
    /// The fixed name linked to the current file (`alerts.json`), inside `dir`.
    pub link: &'static str,
}

/// One file of a stream: its day and its number within the day (0: the day's base file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SegmentId {
    /// The local day it holds.
    pub day: Date,
    /// `NNN` in `ossec-<tag>-<DD>-<NNN>`, 0 for the base file.
    pub number: u32,
}

/// A file found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Its place in the stream.
    pub id: SegmentId,
    /// Where it is.
    pub path: PathBuf,
    /// Already gzip-compressed.
    pub compressed: bool,
}

impl Stream {
    /// `<dir>/<YYYY>/<Mon>` for `day`.
    pub fn month_dir(&self, day: Date) -> PathBuf {
        self.dir.join(day.year().to_string()).join(day.strftime("%b").to_string())
    }

    /// Where segment `id` is written.
    pub fn path(&self, id: SegmentId) -> PathBuf {
        let dir = self.month_dir(id.day);
        match id.number {
            0 => dir.join(format!("ossec-{}-{:02}.{}", self.tag, id.day.day(), self.ext)),
            n => dir.join(format!("ossec-{}-{:02}-{n:03}.{}", self.tag, id.day.day(), self.ext)),
        }
    }

    /// The fixed name (`logs/alerts/alerts.json`).
    pub fn link_path(&self) -> PathBuf {
        self.dir.join(self.link)
    }

    /// Every segment on disk, oldest first. Unreadable folders count as empty (a stream that
    /// never wrote has none).
    pub fn segments(&self) -> std::io::Result<Vec<Segment>> {
        let mut found = Vec::new();
        for year in subdirs(&self.dir)? {
            let Ok(y) = year.file_name().and_then(|n| n.to_str()).unwrap_or("").parse::<i16>() else { continue };
            for month in subdirs(&year)? {
                let Some(m) = month.file_name().and_then(|n| n.to_str()).and_then(month_number) else { continue };
                for entry in std::fs::read_dir(&month)? {
                    let entry = entry?;
                    let name = entry.file_name();
                    let Some((day, number, compressed)) = name.to_str().and_then(|n| self.parse(n)) else { continue };
                    let Ok(day) = Date::new(y, m, day) else { continue };
                    found.push(Segment { id: SegmentId { day, number }, path: entry.path(), compressed });
                }
            }
        }
        found.sort_by_key(|s| (s.id, s.compressed));
        // A plain file and its .gz side by side (a compression cut short): the plain one is whole.
        found.dedup_by_key(|s| s.id);
        Ok(found)
    }

    /// Day, number and compression of a file name of this stream.
    fn parse(&self, name: &str) -> Option<(i8, u32, bool)> {
        let rest = name.strip_prefix("ossec-")?.strip_prefix(self.tag)?.strip_prefix('-')?;
        let (rest, compressed) = match rest.strip_suffix(".gz") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let stem = rest.strip_suffix(self.ext)?.strip_suffix('.')?;
        let (day, number) = match stem.split_once('-') {
            Some((d, n)) if n.len() == 3 => (d, n.parse().ok()?),
            Some(_) => return None,
            None => (stem, 0),
        };
        if day.len() != 2 {
            return None;
        }
        Some((day.parse().ok()?, number, compressed))
    }
}

fn subdirs(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir()).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

fn month_number(name: &str) -> Option<i8> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    MONTHS.iter().position(|m| *m == name).and_then(|i| i8::try_from(i + 1).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_listed_in_order_and_survive_compression() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Stream { dir: dir.path().to_owned(), tag: "alerts", ext: "json", link: "alerts.json" };
        let ids = [
            SegmentId { day: jiff::civil::date(2026, 12, 1), number: 0 },
            SegmentId { day: jiff::civil::date(2026, 11, 30), number: 2 },
            SegmentId { day: jiff::civil::date(2026, 11, 30), number: 0 },
            SegmentId { day: jiff::civil::date(2025, 1, 9), number: 0 },
        ];
        for id in ids {
            let path = s.path(id);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, b"x\n").expect("write");
        }
        let old = s.path(ids[3]);
        std::fs::rename(&old, old.with_extension("json.gz")).expect("rename");
        // Neither another stream's files nor stray names are segments.
        let month = s.month_dir(ids[0].day);
        for stray in ["ossec-archive-01.json", "ossec-alerts-01.log", "ossec-alerts-1.json", "ossec-alerts-01-7.json"] {
            std::fs::write(month.join(stray), b"").expect("write");
        }
        let found = s.segments().expect("list");
        let order: Vec<_> = found.iter().map(|s| s.id).collect();
        assert_eq!(order, [ids[3], ids[2], ids[1], ids[0]]);
        assert!(found[0].compressed && !found[1].compressed);
        assert_eq!(found[1].path, dir.path().join("2026/Nov/ossec-alerts-30.json"));
        assert_eq!(found[2].path, dir.path().join("2026/Nov/ossec-alerts-30-002.json"));
    }
}
