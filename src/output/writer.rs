//! The four streams analysisd writes (`logs/alerts/alerts.{json,log}`,
//! `logs/archives/archives.{json,log}`), each opened only when its `<global>` option is on.

use std::path::Path;
use std::time::Duration;

use jiff::civil::Date;

use super::daily::{DailyLog, Rotation, Stream};
use crate::engine::emit::{Emitted, Outputs};

/// The open streams.
#[derive(Debug)]
pub struct Writer {
    alerts_json: Option<DailyLog>,
    alerts_log: Option<DailyLog>,
    archives_json: Option<DailyLog>,
    archives_log: Option<DailyLog>,
    /// The latest day written: batches from several cores may arrive slightly out of order
    /// around midnight, and a file once left is never written again (readers moved on).
    day: Date,
}

/// The local calendar day of Unix second `now`.
pub fn local_day(now: i64) -> Date {
    crate::engine::time::local(now).date()
}

/// The alerts.json stream under `logs`.
pub fn alerts_json(logs: &Path) -> Stream {
    stream(logs, "alerts", "alerts", "json", "alerts.json")
}

/// The archives.json stream under `logs`.
pub fn archives_json(logs: &Path) -> Stream {
    stream(logs, "archives", "archive", "json", "archives.json")
}

/// alerts.json, alerts.log, archives.json and archives.log under `logs`.
pub fn streams(logs: &Path) -> [Stream; 4] {
    [
        alerts_json(logs),
        stream(logs, "alerts", "alerts", "log", "alerts.log"),
        archives_json(logs),
        stream(logs, "archives", "archive", "log", "archives.log"),
    ]
}

fn stream(logs: &Path, dir: &str, tag: &'static str, ext: &'static str, link: &'static str) -> Stream {
    Stream { dir: logs.join(dir), tag, ext, link }
}

impl Writer {
    /// Opens the streams `outputs` turns on under `logs` at Unix second `now`. Alerts rotate as
    /// `<global>` says; archives only daily.
    pub fn open(logs: &Path, outputs: Outputs, rotation: Rotation, now: i64) -> std::io::Result<Self> {
        let day = local_day(now);
        let open = |on: bool, s: Stream, r: Rotation| on.then(|| DailyLog::open(s, r, day, now)).transpose();
        let daily = Rotation { interval: Duration::ZERO, max_size: 0, ..rotation };
        let [alerts_json, alerts_log, archives_json, archives_log] = streams(logs);
        Ok(Self {
            day,
            alerts_json: open(outputs.alerts_json, alerts_json, rotation)?,
            alerts_log: open(outputs.alerts_log, alerts_log, rotation)?,
            archives_json: open(outputs.archives_json, archives_json, daily)?,
            archives_log: open(outputs.archives_log, archives_log, daily)?,
        })
    }

    /// Adds what one event left, at Unix second `now`, to the files of the day (written by the
    /// next [`flush`](Self::flush)). On error (a rotation that could not open the next file)
    /// nothing of the event was added, so the call can be repeated.
    pub fn write(&mut self, emitted: &Emitted, now: i64) -> std::io::Result<()> {
        let day = local_day(now).max(self.day);
        self.day = day;
        let mut pairs = [
            (&mut self.alerts_json, &emitted.alert_json),
            (&mut self.alerts_log, &emitted.alert_log),
            (&mut self.archives_json, &emitted.archive_json),
            (&mut self.archives_log, &emitted.archive_log),
        ];
        // Every file that takes a line is ready before any line is added.
        for (log, bytes) in pairs.iter_mut() {
            if let (Some(log), true) = (log.as_mut(), bytes.is_some()) {
                log.prepare(day, now)?;
            }
        }
        for (log, bytes) in pairs {
            if let (Some(log), Some(bytes)) = (log.as_mut(), bytes) {
                log.push(bytes.as_bytes());
            }
        }
        Ok(())
    }

    fn streams(&mut self) -> impl Iterator<Item = &mut DailyLog> {
        [&mut self.alerts_json, &mut self.alerts_log, &mut self.archives_json, &mut self.archives_log]
            .into_iter()
            .flatten()
    }

    /// Writes what every stream has pending; a stream that fails keeps its lines for the next
    /// call. Returns the bytes written.
    pub fn flush(&mut self) -> std::io::Result<usize> {
        let mut written = 0;
        let mut failed = None;
        for log in self.streams() {
            match log.flush() {
                Ok(n) => written += n,
                Err(e) => failed = Some(e),
            }
        }
        failed.map_or(Ok(written), Err)
    }

    /// Forces every stream to disk.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.streams().try_for_each(DailyLog::sync)
    }
}
