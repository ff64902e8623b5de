//! What analysisd writes for one processed event (engine.md §7.2–7.4), as bytes: the alert's
//! alerts.json line and alerts.log block when its rule logs, and the archives.json line and
//! archives.log line when archiving is on. `crate::output` appends them to the files.

use std::sync::Arc;

use super::alert::json::Origin;
use super::alert::text::{RuleLine, alert_block, archive_line, is_keepalive};
use super::alert::{AlertId, AlertIds};
use super::rules::Mode;
use super::{Engine, Outcome, Render};

/// Which outputs are on (`<global>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outputs {
    /// `jsonout_output`: alerts.json.
    pub alerts_json: bool,
    /// `alerts_log`: alerts.log.
    pub alerts_log: bool,
    /// `logall_json`: archives.json.
    pub archives_json: bool,
    /// `logall`: archives.log.
    pub archives_log: bool,
}

impl Outputs {
    /// The outputs `<global>` turns on.
    pub fn from_config(global: &crate::config::Global) -> Self {
        Self {
            alerts_json: global.jsonout_output,
            alerts_log: global.alerts_log,
            archives_json: global.logall_json,
            archives_log: global.logall,
        }
    }
}

/// The bytes one event leaves.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Emitted {
    /// The alert id, when an alert was written.
    pub id: Option<AlertId>,
    /// alerts.json line (with its newline).
    pub alert_json: Option<String>,
    /// alerts.log block.
    pub alert_log: Option<String>,
    /// archives.json line.
    pub archive_json: Option<String>,
    /// archives.log line.
    pub archive_log: Option<String>,
}

/// When the event was received: Unix seconds and milliseconds.
pub type Received = (i64, u32);

/// The current time as a [`Received`].
pub fn received_now() -> Received {
    let now = jiff::Timestamp::now();
    (now.as_second(), now.subsec_millisecond().unsigned_abs())
}

fn local(seconds: i64) -> jiff::civil::DateTime {
    super::time::local(seconds).datetime()
}

impl Engine {
    /// Renders what analysisd writes for `outcome` (processed in [`Mode::Analysisd`]). Alert ids
    /// come from the node's counter; MITRE problems are returned in `warnings`.
    pub fn emit(
        &self,
        outcome: &Outcome,
        received: Received,
        ids: &AlertIds,
        origin: Origin<'_>,
        outputs: Outputs,
        warnings: &mut Vec<String>,
    ) -> Emitted {
        let mut out = Emitted::default();
        if outcome.dropped {
            return out;
        }
        let rule = outcome.verdict.rule.map(|r| self.ruleset().rules.rule(r));
        if let Some(rule) = rule.filter(|r| r.options.log) {
            let id = ids.next(received.0);
            out.id = Some(id);
            if outputs.alerts_json {
                let mut line = self.alert_json(
                    origin,
                    outcome,
                    Render { time: received, id: Some(id), mode: Mode::Analysisd, archive: false },
                    warnings,
                );
                line.push('\n');
                out.alert_json = Some(line);
            }
            if outputs.alerts_log {
                let description = super::describe::describe(&rule.description, &outcome.event);
                let line = RuleLine {
                    id: rule.sid,
                    level: u8::try_from(rule.level).unwrap_or(u8::MAX),
                    description: &description,
                    groups: &rule.group,
                    mail: rule.options.mail,
                };
                let last: &[Arc<str>] = &outcome.verdict.last_events;
                out.alert_log = Some(alert_block(id, local(received.0), &line, &outcome.event, &[], last));
            }
        }
        if outputs.archives_json && !is_keepalive(&outcome.event) {
            // Archives carry the rule only when an alert was made, and always the full log.
            let mut line = self.alert_json(
                origin,
                outcome,
                Render { time: received, id: out.id, mode: Mode::Analysisd, archive: true },
                warnings,
            );
            line.push('\n');
            out.archive_json = Some(line);
        }
        if outputs.archives_log {
            out.archive_log = archive_line(local(received.0), &outcome.event);
        }
        out
    }
}
