//! Compressing finished log files, as Wazuh's monitord gzips past days' alerts and archives,
//! with one rule more: a file is compressed only once every reader of its stream is past it,
//! so a shipper that fell behind never finds its place gone.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::sync::Arc;
use std::time::Duration;

use super::consumers::Consumers;
use super::segments::{Segment, Stream};

/// How often finished files are looked for.
pub const INTERVAL: Duration = Duration::from_secs(60);

/// Compresses, in each stream, every finished file (any but the newest) all readers passed.
/// Returns how many were compressed.
pub fn compress_passed(streams: &[Stream], consumers: &Consumers) -> usize {
    let mut done = 0;
    for stream in streams {
        let segments = match stream.segments() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(stage = "output", dir = %stream.dir.display(), "cannot list log files: {e}");
                continue;
            }
        };
        let Some((_newest, finished)) = segments.split_last() else { continue };
        for segment in finished.iter().filter(|s| !s.compressed && consumers.passed(stream, s.id)) {
            match gzip(segment) {
                Ok(()) => done += 1,
                Err(e) => tracing::error!(stage = "output", file = %segment.path.display(), "cannot compress: {e}"),
            }
        }
    }
    done
}

/// `<file>` → `<file>.gz` (0640), the original removed once the copy is on disk.
fn gzip(segment: &Segment) -> std::io::Result<()> {
    let mut name = segment.path.clone().into_os_string();
    name.push(".gz");
    let target = std::path::PathBuf::from(name);
    if target.exists() {
        return Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, format!("{} exists", target.display())));
    }
    let partial = target.with_extension("gz.part");
    let out = OpenOptions::new().write(true).create(true).truncate(true).mode(0o640).open(&partial)?;
    let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    std::io::copy(&mut File::open(&segment.path)?, &mut encoder)?;
    let mut out = encoder.finish()?;
    out.flush()?;
    out.sync_all()?;
    std::fs::rename(&partial, &target)?;
    std::fs::remove_file(&segment.path)
}

/// Looks for files to compress every [`INTERVAL`] on its own thread, for as long as the process
/// runs (a compression cut short leaves the whole original).
pub fn spawn(streams: Vec<Stream>, consumers: Arc<Consumers>) -> std::io::Result<()> {
    std::thread::Builder::new().name("vigil-compress".into()).spawn(move || {
        loop {
            let n = compress_passed(&streams, &consumers);
            if n > 0 {
                tracing::info!(stage = "output", files = n, "compressed finished log files");
            }
            std::thread::sleep(INTERVAL);
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::super::consumers::Position;
    use super::super::segments::SegmentId;
    use super::*;

    #[test]
    fn finished_files_wait_for_every_reader() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stream = Stream { dir: dir.path().to_owned(), tag: "alerts", ext: "json", link: "alerts.json" };
        let id = |d| SegmentId { day: jiff::civil::date(2026, 11, d), number: 0 };
        for d in [1, 2, 3] {
            let path = stream.path(id(d));
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, format!("day {d}\n")).expect("write");
        }
        let consumers = Consumers::new(None);
        consumers.register("indexer", &stream).expect("register");
        assert_eq!(compress_passed(std::slice::from_ref(&stream), &consumers), 0, "the reader has no place yet");
        consumers.save("indexer", Position { segment: id(2), inode: 0, offset: 3 }).expect("save");
        assert_eq!(compress_passed(std::slice::from_ref(&stream), &consumers), 1, "only the day it passed");
        let gz = dir.path().join("2026/Nov/ossec-alerts-01.json.gz");
        let mut text = String::new();
        flate2::read::GzDecoder::new(File::open(&gz).expect("gz")).read_to_string(&mut text).expect("gunzip");
        assert_eq!(text, "day 1\n");
        assert!(!stream.path(id(1)).exists() && stream.path(id(2)).exists());
        consumers.save("indexer", Position { segment: id(3), inode: 0, offset: 0 }).expect("save");
        assert_eq!(compress_passed(std::slice::from_ref(&stream), &consumers), 1);
        assert!(stream.path(id(3)).exists(), "the newest file is never compressed");
    }
}
