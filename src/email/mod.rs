//! E-mail alerts: wazuh-maild done with lettre. A reader of the alert log (from the end of
//! today's log the first time, as maild) picks the recipients of each alert ([`select`]),
//! words it as maild does ([`compose`]), groups and caps the messages ([`outbox`]) and sends
//! them over SMTP, with STARTTLS or TLS and authentication when configured ([`send`]). As
//! maild, it is best effort: an alert's place is kept once it is in the outbox, so messages
//! still held there when the process stops, or refused by the server three times, are lost
//! (logged and counted).

pub mod compose;
pub mod outbox;
pub mod select;
pub mod send;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::output::alert::Alert;
use crate::output::consumers::Consumers;
use crate::output::follow::Follower;

/// How long the reader sleeps when the log has nothing new.
const IDLE: Duration = Duration::from_millis(200);

/// Tries per message before it is given up (logged and counted).
const ATTEMPTS: u32 = 3;

/// Counters.
#[derive(Debug, Default)]
pub struct Stats {
    /// Messages sent.
    pub sent: AtomicU64,
    /// Messages given up after their tries.
    pub failed: AtomicU64,
}

impl Stats {
    /// The counters as metrics.
    pub fn expose(&self, page: &mut crate::metrics::Exposition) {
        page.counter("vigil_email_sent_total", "Alert e-mails sent.", &[], self.sent.load(Ordering::Relaxed));
        let failed = self.failed.load(Ordering::Relaxed);
        page.counter("vigil_email_failed_total", "Alert e-mails given up after their tries.", &[], failed);
    }
}

fn hour_now() -> i64 {
    jiff::Timestamp::now().as_second().div_euclid(3600)
}

/// Starts e-mail when `<email_notification>` is on; gives the counters.
pub fn start(home: &Path, config: &Config, consumers: &Arc<Consumers>) -> anyhow::Result<Option<Arc<Stats>>> {
    let global = &config.global;
    if !global.email_notification {
        return Ok(None);
    }
    if !global.jsonout_output {
        anyhow::bail!("<jsonout_output> is off: e-mail has no alerts to read");
    }
    let sender = send::Sender::new(home, global)?;
    let selector = select::Selector::new(config);
    let outbox = outbox::Outbox::new(global.email_maxperhour, hour_now());
    let stats = Arc::new(Stats::default());
    let counters = Arc::clone(&stats);
    let stream = crate::output::writer::alerts_json(&home.join("logs"));
    let log = Follower::open_from_now("email", stream, consumers)?;
    let deliver = move |mail: &outbox::Mail| {
        for attempt in 1..=ATTEMPTS {
            match sender.send(mail) {
                Ok(()) => {
                    counters.sent.fetch_add(1, Ordering::Relaxed);
                    return tracing::debug!(stage = "email", to = ?mail.to, "E-mail sent");
                }
                Err(e) if attempt < ATTEMPTS => {
                    tracing::warn!(stage = "email", "cannot send an e-mail ({e:#}); trying again");
                    std::thread::sleep(Duration::from_secs(u64::from(attempt) * 2));
                }
                Err(e) => {
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(stage = "email", to = ?mail.to, "e-mail given up: {e:#}");
                }
            }
        }
    };
    std::thread::Builder::new().name("vigil-email".into()).spawn(move || {
        // Both steps fill the outbox and send from it, one after the other on this thread.
        let outbox = std::cell::RefCell::new(outbox);
        let take = |line: &[u8]| {
            let Some(alert) = Alert::parse(line) else { return };
            let delivery = selector.select(&alert);
            if !delivery.is_empty() {
                for mail in outbox.borrow_mut().push(&alert, &delivery, Instant::now()) {
                    deliver(&mail);
                }
            }
        };
        let send_due = || {
            for mail in outbox.borrow_mut().due(Instant::now(), hour_now()) {
                deliver(&mail);
            }
        };
        log.follow(IDLE, take, send_due)
    })?;
    tracing::info!(
        stage = "email",
        server = global.smtp_server.as_deref().unwrap_or(""),
        "E-mail notification started"
    );
    Ok(Some(stats))
}
