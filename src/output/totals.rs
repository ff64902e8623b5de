//! analysisd's hourly totals (`stats/totals/<YYYY>/<Mon>/ossec-totals-<DD>.log`, what
//! `GET /manager/stats` reads): at each new hour the past hour is appended as one
//! `hour-sigid-level-times` line per rule that fired, then `hour--alerts--events--syscheck--firewall`
//! and a blank line, as analysisd's `DumpLogstats` writes them.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use jiff::civil::Date;

/// One hour's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Hour {
    /// The hour's day and hour of day (local time).
    at: Option<(Date, i8)>,
    /// Times each (rule id, level) fired.
    fired: BTreeMap<(u32, u32), u64>,
    alerts: u64,
    events: u64,
}

/// The hourly totals being counted, and where past hours go.
#[derive(Debug)]
pub struct Totals {
    dir: PathBuf,
    hour: Mutex<Hour>,
}

/// One analysed event, for the totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    /// The rule it matched and that rule's level.
    pub fired: Option<(u32, u32)>,
    /// It raised an alert.
    pub alerted: bool,
}

impl Totals {
    /// Totals written under `dir` (the home's `stats/totals`).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir, hour: Mutex::new(Hour::default()) }
    }

    /// Counts `events` analysed at `now` (Unix seconds); the hour before is written out when
    /// `now` is in a new one.
    pub fn count(&self, now: i64, events: impl IntoIterator<Item = Counted>) {
        let local = crate::engine::time::local(now);
        let at = (local.date(), local.hour());
        let mut hour = crate::sync::lock(&self.hour);
        if hour.at.is_some_and(|before| before != at) {
            let past = std::mem::take(&mut *hour);
            if let Err(e) = self.write(&past) {
                tracing::error!(stage = "output", "cannot write the hourly totals: {e}");
            }
        }
        hour.at = Some(at);
        for event in events {
            hour.events += 1;
            hour.alerts += u64::from(event.alerted);
            if let Some(key) = event.fired {
                *hour.fired.entry(key).or_default() += 1;
            }
        }
    }

    fn write(&self, hour: &Hour) -> std::io::Result<()> {
        let Some((day, h)) = hour.at else { return Ok(()) };
        let path = file(&self.dir, day);
        if let Some(dir) = path.parent() {
            std::fs::DirBuilder::new().recursive(true).mode(0o750).create(dir)?;
        }
        let mut text = String::new();
        for ((sigid, level), times) in &hour.fired {
            text.push_str(&format!("{h}-{sigid}-{level}-{times}\n"));
        }
        // vigil does not decode FIM or firewall events apart yet: their counts stay 0.
        text.push_str(&format!("{h}--{}--{}--0--0\n\n", hour.alerts, hour.events));
        let mut out = std::fs::OpenOptions::new().create(true).append(true).mode(0o640).open(path)?;
        out.write_all(text.as_bytes())
    }
}

/// The totals file of `day` under `dir`.
pub fn file(dir: &Path, day: Date) -> PathBuf {
    dir.join(day.year().to_string())
        .join(day.strftime("%b").to_string())
        .join(format!("ossec-totals-{:02}.log", day.day()))
}

/// One hour of a totals file as Wazuh's API shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HourTotals {
    /// Hour of day.
    pub hour: u32,
    /// Rules fired: `{sigid, level, times}`.
    pub alerts: Vec<serde_json::Value>,
    /// Alerts written.
    #[serde(rename = "totalAlerts")]
    pub total_alerts: u64,
    /// Events analysed.
    pub events: u64,
    /// FIM events.
    pub syscheck: u64,
    /// Firewall events.
    pub firewall: u64,
}

/// Reads a totals file's text (Wazuh's `totals_`); `None` when a line is not in its format.
pub fn parse(text: &str) -> Option<Vec<HourTotals>> {
    let mut hours = Vec::new();
    let mut alerts = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let rule: Vec<&str> = line.split('-').collect();
        if let [_, sigid, level, times] = rule[..] {
            alerts.push(serde_json::json!({
                "sigid": sigid.parse::<u64>().ok()?,
                "level": level.parse::<u64>().ok()?,
                "times": times.parse::<u64>().ok()?,
            }));
            continue;
        }
        let total: Vec<u64> = line.split("--").map(|f| f.trim().parse().ok()).collect::<Option<_>>()?;
        let [hour, total_alerts, events, syscheck, firewall] = total[..] else { return None };
        hours.push(HourTotals {
            hour: u32::try_from(hour).ok()?,
            alerts: std::mem::take(&mut alerts),
            total_alerts,
            events,
            syscheck,
            firewall,
        });
    }
    Some(hours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_is_written_when_the_next_begins_and_reads_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let totals = Totals::new(dir.path().to_owned());
        let t0 = 1_795_800_000; // some hour
        let fired = |sigid| Counted { fired: Some((sigid, 5)), alerted: true };
        totals.count(t0, [fired(5710), fired(5710), fired(5715), Counted { fired: None, alerted: false }]);
        let day = crate::engine::time::local(t0).date();
        assert!(!file(dir.path(), day).exists(), "nothing is written within the hour");
        totals.count(t0 + 3600, [fired(5710)]);
        let text = std::fs::read_to_string(file(dir.path(), day)).expect("totals file");
        let hour = crate::engine::time::local(t0).hour();
        assert_eq!(text, format!("{hour}-5710-5-2\n{hour}-5715-5-1\n{hour}--3--4--0--0\n\n"));
        let parsed = parse(&text).expect("parses");
        assert_eq!(parsed[0].hour, u32::try_from(hour).expect("hour"));
        assert_eq!((parsed[0].total_alerts, parsed[0].events), (3, 4));
        assert_eq!(parsed[0].alerts[0], serde_json::json!({"sigid": 5710, "level": 5, "times": 2}));
        assert!(parse("1--2--x--0--0\n").is_none());
    }
}
