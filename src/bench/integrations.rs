//! `vigil bench integrations`: alerts per second each integration delivers from the alert log
//! to a receiver that keeps up (a Rust HTTP server in this process, answering each service's
//! success at once); and whether the engine keeps a fixed input rate with every integration
//! enabled against receivers that answer in 50 ms, or never.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::integrations::stats::Stats;

/// How the receivers answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// At once.
    Fast,
    /// After this long.
    Slow(Duration),
    /// Never.
    Hang,
}

/// The success each service answers.
fn success(path: &str) -> (u16, &'static [u8]) {
    if path.contains("/rest/api/2/issue") {
        (201, br#"{"id":"1","key":"SEC-1"}"#)
    } else if path.contains("/api/now/table/") {
        (201, br#"{"result":{"sys_id":"0123456789abcdef"}}"#)
    } else if path.contains("/enqueue") {
        (202, br#"{"status":"success","dedup_key":"d"}"#)
    } else {
        (200, b"ok")
    }
}

/// Serves every request with its service's success, paced by `pace`, on a loopback port of its
/// own thread; gives the port and the requests counter.
pub fn receiver(pace: Pace) -> std::io::Result<(u16, Arc<AtomicU64>)> {
    let count = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&count);
    let port = super::receiver::serve("bench-receiver", move |path| {
        let counted = Arc::clone(&counted);
        async move {
            match pace {
                Pace::Fast => {}
                Pace::Slow(wait) => tokio::time::sleep(wait).await,
                Pace::Hang => std::future::pending::<()>().await,
            }
            counted.fetch_add(1, Ordering::Relaxed);
            success(&path)
        }
    })?;
    Ok((port, count))
}

/// The integrations measured, with the extra elements each needs.
pub const SERVICES: [(&str, &str); 7] = [
    ("slack", ""),
    ("pagerduty", "<api_key>k</api_key>"),
    ("shuffle", ""),
    ("jira", "<api_key>u:t</api_key><project>SEC</project>"),
    ("servicenow", "<api_key>u:p</api_key>"),
    ("teams", ""),
    ("webhook", ""),
];

/// The `<integration>` blocks for `services`, all to the receiver on `port`.
fn blocks(services: &[(&str, &str)], port: u16, timeout: u32) -> String {
    services
        .iter()
        .map(|(name, extra)| {
            let path = if *name == "pagerduty" { "/v2/enqueue" } else { "/hook" };
            format!(
                "<integration><name>{name}</name><hook_url>http://127.0.0.1:{port}{path}</hook_url>\
                 <timeout>{timeout}</timeout>{extra}</integration>"
            )
        })
        .collect()
}

fn start(root: &Path, xml: &str) -> anyhow::Result<Vec<Arc<Stats>>> {
    std::fs::create_dir_all(root.join("logs/alerts"))?;
    let loaded = crate::config::parse(&format!("<ossec_config>{xml}</ossec_config>"), Path::new("bench.conf"));
    if let Some(p) = loaded.problems.first() {
        anyhow::bail!("bench config: {}", p.message);
    }
    let consumers = Arc::new(crate::output::consumers::Consumers::new(None));
    Ok(crate::integrations::start(root, &loaded.config, &consumers, None))
}

/// Delivers `alerts` alerts with integration `name` to a receiver that keeps up; gives the time.
pub fn throughput(root: &Path, service: (&str, &str), alerts: u64) -> anyhow::Result<Duration> {
    let (port, _) = receiver(Pace::Fast)?;
    let stats = start(root, &blocks(&[service], port, 10))?;
    let stats = stats.first().ok_or_else(|| anyhow::anyhow!("{} did not start", service.0))?;
    let started = Instant::now();
    super::indexer::write_log(root, alerts)?;
    while stats.sent.load(Ordering::Relaxed) + stats.failed.load(Ordering::Relaxed) < alerts {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(600), "{} did not finish in 10 minutes", service.0);
        std::thread::sleep(Duration::from_millis(2));
    }
    anyhow::ensure!(stats.failed.load(Ordering::Relaxed) == 0, "{} failed some alerts", service.0);
    Ok(started.elapsed())
}

/// What the engine did at a fixed input rate.
#[derive(Debug, Clone, Copy)]
pub struct Isolation {
    /// Events offered.
    pub offered: u64,
    /// Events the alert log took.
    pub written: u64,
    /// Alerts written.
    pub alerts: u64,
    /// How far the input fell behind its schedule at worst.
    pub worst_delay: Duration,
    /// Requests the receivers answered meanwhile.
    pub answered: u64,
}

/// Feeds `rate` events/s for `seconds` through the engine (the home's ruleset) with every
/// integration enabled against receivers paced by `pace`.
pub fn isolation(root: &Path, rate: u64, seconds: u64, pace: Pace) -> anyhow::Result<Isolation> {
    let home = crate::home::Home::new(root);
    home.prepare(jiff::Timestamp::now().as_second())?;
    let (port, answered) = receiver(pace)?;
    let config = crate::config::parse(
        &format!("<ossec_config>{}</ossec_config>", blocks(&SERVICES, port, 2)),
        Path::new("bench.conf"),
    )
    .config;
    let (engine, _) = crate::engine::live::compile(root, &config)?;
    let live = Arc::new(crate::engine::live::Live::new(engine, Vec::new()));
    let sink = crate::server::queue::Sink::open(&home, &config, live, None)?;
    let consumers = Arc::new(crate::output::consumers::Consumers::new(None));
    let stats = crate::integrations::start(root, &config, &consumers, None);
    anyhow::ensure!(stats.len() == SERVICES.len(), "not every integration started");
    let events = super::corpus::mix((rate * seconds) as usize, 2026);
    let per_step = (rate / 100).max(1) as usize;
    let started = Instant::now();
    let mut worst = Duration::ZERO;
    for (step, batch) in events.chunks(per_step).enumerate() {
        let due = started + Duration::from_millis(10 * step as u64);
        let now = Instant::now();
        if now < due {
            std::thread::sleep(due - now);
        } else {
            worst = worst.max(now - due);
        }
        sink.handle_all(batch);
    }
    sink.log.barrier();
    let counts = sink.log.counts();
    let result = Isolation {
        offered: events.len() as u64,
        written: counts.events.load(Ordering::Relaxed),
        alerts: counts.alerts.load(Ordering::Relaxed),
        worst_delay: worst,
        answered: answered.load(Ordering::Relaxed),
    };
    sink.log.stop();
    Ok(result)
}
