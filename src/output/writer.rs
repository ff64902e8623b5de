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
}

/// The local calendar day of Unix second `now`.
pub fn local_day(now: i64) -> Date {
    crate::engine::time::local(now).date()
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
        Ok(Self {
            alerts_json: open(outputs.alerts_json, stream(logs, "alerts", "alerts", "json", "alerts.json"), rotation)?,
            alerts_log: open(outputs.alerts_log, stream(logs, "alerts", "alerts", "log", "alerts.log"), rotation)?,
            archives_json: open(
                outputs.archives_json,
                stream(logs, "archives", "archive", "json", "archives.json"),
                daily,
            )?,
            archives_log: open(
                outputs.archives_log,
                stream(logs, "archives", "archive", "log", "archives.log"),
                daily,
            )?,
        })
    }

    /// Appends what one event left, at Unix second `now`.
    pub fn write(&mut self, emitted: &Emitted, now: i64) -> std::io::Result<()> {
        let day = local_day(now);
        let pairs = [
            (&mut self.alerts_json, &emitted.alert_json),
            (&mut self.alerts_log, &emitted.alert_log),
            (&mut self.archives_json, &emitted.archive_json),
            (&mut self.archives_log, &emitted.archive_log),
        ];
        for (log, bytes) in pairs {
            if let (Some(log), Some(bytes)) = (log.as_mut(), bytes) {
                log.append(bytes.as_bytes(), day, now)?;
            }
        }
        Ok(())
    }

    /// Flushes every stream.
    pub fn flush(&mut self) -> std::io::Result<()> {
        for log in [&mut self.alerts_json, &mut self.alerts_log, &mut self.archives_json, &mut self.archives_log]
            .into_iter()
            .flatten()
        {
            log.flush()?;
        }
        Ok(())
    }
}
