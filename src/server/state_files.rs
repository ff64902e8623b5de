//! The counters on disk, rewritten every [`INTERVAL`]: `var/run/wazuh-remoted.state` in remoted's
//! layout (what Wazuh's tooling reads) and `var/run/vigil.prom` in Prometheus text (what
//! node_exporter's textfile collector reads).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tracing::warn;

use super::queue::Sink;
use crate::home::Home;
use crate::metrics::Exposition;
use crate::metrics::Rate;
use crate::remote::stats::Stats;

/// How often the files are rewritten (remoted's `state_interval`).
pub const INTERVAL: Duration = Duration::from_secs(5);

/// The Prometheus page of the agent service's and the engine's counters, with the events and
/// alerts per second since the page before (`rates`).
pub fn exposition(stats: &Stats, sink: &Sink, rates: &[Rate; 2]) -> String {
    let mut page = Exposition::default();
    stats.expose(&mut page);
    engine_counters(sink, &mut page);
    let counts = sink.log.counts();
    let per_second = [
        ("vigil_engine_events_per_second", "Events analysed per second over the last interval.", &counts.events),
        ("vigil_engine_alerts_per_second", "Alerts written per second over the last interval.", &counts.alerts),
    ];
    for ((name, help, counter), rate) in per_second.into_iter().zip(rates) {
        page.gauge(name, help, &[], rate.sample(counter.load(Ordering::Relaxed)));
    }
    page.finish()
}

/// The engine's counters.
pub fn engine_counters(sink: &Sink, page: &mut Exposition) {
    let handled = sink.log.counts().events.load(Ordering::Relaxed);
    page.counter("vigil_engine_events_total", "Events analysed.", &[], handled);
    let malformed = sink.malformed.load(Ordering::Relaxed);
    page.counter("vigil_engine_malformed_total", "Events that could not be read.", &[], malformed);
    let decoded = sink.log.counts().decoded.load(Ordering::Relaxed);
    page.counter("vigil_engine_decoded_total", "Events a decoder matched.", &[], decoded);
    let alerts = sink.log.counts().alerts.load(Ordering::Relaxed);
    page.counter("vigil_engine_alerts_total", "Alerts written.", &[], alerts);
    let log = sink.log.counts();
    page.counter("vigil_output_bytes_total", "Bytes written to the alert log.", &[], log.bytes.load(Ordering::Relaxed));
    page.counter(
        "vigil_output_syncs_total",
        "Group commits (fsync) of the alert log.",
        &[],
        log.syncs.load(Ordering::Relaxed),
    );
    let errors = log.write_errors.load(Ordering::Relaxed);
    page.counter("vigil_output_write_errors_total", "Failed alert log writes (each retried).", &[], errors);
    let stalled = u64::from(log.stalled.load(Ordering::Relaxed));
    page.gauge("vigil_output_stalled", "1 while the alert log cannot be written and agents wait.", &[], stalled);
    if let Some(shippers) = sink.shipping.get() {
        crate::indexer::stats::Stats::expose(shippers, page, jiff::Timestamp::now().as_millisecond());
    }
    if let Some(integrations) = sink.integrations.get() {
        crate::integrations::stats::Stats::expose(integrations, page);
    }
    if let Some(Some(ar)) = sink.active_response.get() {
        ar.stats.expose(page);
    }
    if let Some(Some(email)) = sink.email.get() {
        email.expose(page);
    }
    for (module, n) in sink.modules.decoded() {
        page.counter("vigil_modules_decoded_total", "Agent module messages decoded.", &[("module", module)], n);
    }
    let refused = sink.modules.refused.load(Ordering::Relaxed);
    page.counter("vigil_modules_refused_total", "Agent module messages refused (malformed or invalid).", &[], refused);
    let full = sink.modules.state_refused();
    page.counter(
        "vigil_modules_rows_refused_total",
        "State rows refused because an agent's table was full.",
        &[],
        full,
    );
}

/// Writes both files now and every [`INTERVAL`] on a thread of their own.
pub fn spawn(run_dir: PathBuf, stats: Arc<Stats>, sink: Arc<Sink>) -> std::io::Result<()> {
    std::thread::Builder::new().name("vigil-state".into()).spawn(move || {
        let rates = [Rate::default(), Rate::default()];
        loop {
            let files = [
                ("wazuh-remoted.state", stats.state_file(INTERVAL.as_secs())),
                ("vigil.prom", exposition(&stats, &sink, &rates)),
            ];
            for (name, text) in files {
                let path = run_dir.join(name);
                if let Err(e) = Home::write_atomic(&path, text.as_bytes(), 0o640) {
                    warn!("cannot write {}: {e}", path.display());
                }
            }
            std::thread::sleep(INTERVAL);
        }
    })?;
    Ok(())
}
