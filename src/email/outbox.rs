//! Grouping and the hourly cap, as maild does them: full notifications wait until alerts stop
//! coming for [`GROUP_WAIT`] (or one says `do_not_delay`) and go as one message per recipient,
//! the subject that of the highest level; at most `email_maxperhour` such rounds per clock hour,
//! the rest held and sent at the hour's turn. Short (SMS) messages go at once, uncapped; a
//! `do_not_group` alert goes alone while the cap allows.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::compose;
use super::select::Delivery;
use crate::output::alert::Alert;

/// How long alerts keep coming into one message.
pub const GROUP_WAIT: Duration = Duration::from_secs(2);

/// Notifications held for one message at most (maild keeps 96).
const MAX_HELD: usize = 96;

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// Recipients.
    pub to: Vec<String>,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
}

/// One alert's notification, held.
#[derive(Debug, Clone)]
struct Part {
    subject: String,
    body: String,
    level: u64,
}

/// What waits to be sent.
#[derive(Debug)]
pub struct Outbox {
    cap: u32,
    hour: i64,
    rounds: u32,
    held: BTreeMap<String, Vec<Part>>,
    last_added: Option<Instant>,
    urgent: bool,
    /// Notifications dropped because a recipient had [`MAX_HELD`] waiting.
    pub dropped: u64,
}

impl Outbox {
    /// An outbox allowing `cap` rounds per hour, starting in clock hour `hour`.
    pub fn new(cap: u32, hour: i64) -> Self {
        Self { cap: cap.max(1), hour, rounds: 0, held: BTreeMap::new(), last_added: None, urgent: false, dropped: 0 }
    }

    /// Takes `alert` for `delivery`; gives what goes at once.
    pub fn push(&mut self, alert: &Alert, delivery: &Delivery, now: Instant) -> Vec<Mail> {
        let mut out = Vec::new();
        if !delivery.sms.is_empty() {
            out.push(Mail {
                to: delivery.sms.clone(),
                subject: compose::sms_subject(alert),
                body: compose::sms_body(alert),
            });
        }
        if delivery.full.is_empty() {
            return out;
        }
        let part = Part { subject: compose::subject(alert), body: compose::body(alert), level: alert.level() };
        if delivery.alone && self.rounds < self.cap {
            self.rounds += 1;
            out.push(Mail { to: delivery.full.clone(), subject: part.subject, body: part.body });
            return out;
        }
        for to in &delivery.full {
            let parts = self.held.entry(to.clone()).or_default();
            if parts.len() >= MAX_HELD {
                parts.remove(0);
                self.dropped += 1;
            }
            parts.push(part.clone());
        }
        self.last_added = Some(now);
        self.urgent |= delivery.now;
        out
    }

    /// What goes now, in clock hour `hour`: everything held when the hour turned; otherwise the
    /// held notifications once alerts paused (or one was urgent), while the cap allows.
    pub fn due(&mut self, now: Instant, hour: i64) -> Vec<Mail> {
        if hour != self.hour {
            (self.hour, self.rounds) = (hour, 0);
        } else {
            let quiet = self.last_added.is_some_and(|at| now.duration_since(at) >= GROUP_WAIT);
            if self.held.is_empty() || !(quiet || self.urgent) || self.rounds >= self.cap {
                return Vec::new();
            }
        }
        if self.held.is_empty() {
            return Vec::new();
        }
        self.rounds += 1;
        self.urgent = false;
        self.last_added = None;
        std::mem::take(&mut self.held)
            .into_iter()
            .map(|(to, parts)| {
                // The highest level's subject; the first of them on a tie.
                let top = parts.iter().fold(&parts[0], |best, p| if p.level > best.level { p } else { best });
                Mail {
                    to: vec![to],
                    subject: top.subject.clone(),
                    body: parts.iter().map(|p| p.body.as_str()).collect(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(level: u64) -> Alert {
        let text = format!(
            r#"{{"rule":{{"level":{level},"id":"{level}","description":"d{level}"}},"agent":{{"name":"a"}},"location":"l","full_log":"log{level}"}}"#
        );
        Alert::parse(text.as_bytes()).expect("alert")
    }

    fn to(who: &[&str]) -> Delivery {
        Delivery { full: who.iter().map(|s| s.to_string()).collect(), ..Delivery::default() }
    }

    #[test]
    fn groups_caps_and_releases_at_the_hour() {
        let t0 = Instant::now();
        let mut o = Outbox::new(2, 100);
        assert!(o.push(&alert(5), &to(&["a@x"]), t0).is_empty());
        assert!(o.push(&alert(9), &to(&["a@x", "b@x"]), t0).is_empty());
        assert!(o.due(t0 + Duration::from_secs(1), 100).is_empty(), "still coming");
        let sent = o.due(t0 + GROUP_WAIT, 100);
        assert_eq!(sent.len(), 2, "one message per recipient");
        assert_eq!(sent[0].to, ["a@x"]);
        assert_eq!(sent[0].subject, "Wazuh notification - a->l - Alert level 9", "the highest level's subject");
        assert!(
            sent[0].body.contains("log5")
                && sent[0].body.contains("log9")
                && sent[0].body.find("log5") < sent[0].body.find("log9")
        );
        assert!(!sent[1].body.contains("log5"), "b@x gets only its own alert");

        let t1 = t0 + Duration::from_secs(10);
        o.push(&alert(3), &to(&["a@x"]), t1);
        assert_eq!(o.due(t1 + GROUP_WAIT, 100).len(), 1, "the second round of the hour");
        o.push(&alert(4), &to(&["a@x"]), t1);
        assert!(o.due(t1 + GROUP_WAIT * 2, 100).is_empty(), "capped: held");
        assert_eq!(o.due(t1 + GROUP_WAIT * 2, 101).len(), 1, "sent when the hour turns");

        let urgent = Delivery { now: true, ..to(&["a@x"]) };
        o.push(&alert(12), &urgent, t1);
        assert_eq!(o.due(t1, 101).len(), 1, "do_not_delay goes without waiting");
        let sms = Delivery { sms: vec!["p@x".into()], ..Delivery::default() };
        let at_once = o.push(&alert(12), &sms, t1);
        assert_eq!(
            (at_once.len(), at_once[0].subject.as_str(), at_once[0].body.as_str()),
            (1, "Wazuh 12 - 12 - d12", "log12")
        );
    }
}
