//! `vigil bench indexer`: alerts shipped per second from the alert log, by the real shipper
//! thread, to an endpoint that accepts every `_bulk` at once (in this process, on its own
//! thread), or to a given OpenSearch.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::output::daily::{DailyLog, Rotation};

/// What one run measured.
#[derive(Debug, Clone, Copy)]
pub struct ShipRun {
    /// Alerts shipped.
    pub alerts: u64,
    /// Time to ship them all.
    pub elapsed: Duration,
    /// Bytes of alert log.
    pub bytes: u64,
    /// `_bulk` requests.
    pub bulks: u64,
}

impl ShipRun {
    /// Alerts per second.
    pub fn per_second(&self) -> f64 {
        self.alerts as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A typical alert line (about 1 KiB, as an sshd alert with MITRE and compliance tags).
fn alert(i: u64, day: jiff::civil::Date) -> String {
    format!(
        r#"{{"timestamp":"{day}T10:{:02}:{:02}.{:03}+0000","rule":{{"level":5,"description":"sshd: authentication failed.","id":"5760","mitre":{{"id":["T1110.001","T1021.004"],"tactic":["Credential Access","Lateral Movement"],"technique":["Password Guessing","SSH"]}},"firedtimes":{i},"mail":false,"groups":["syslog","sshd","authentication_failed"],"gdpr":["IV_35.7.d","IV_32.2"],"gpg13":["7.1"],"hipaa":["164.312.b"],"nist_800_53":["AU.14","AC.7"],"pci_dss":["10.2.4","10.2.5"],"tsc":["CC6.1","CC6.8","CC7.2","CC7.3"]}},"agent":{{"id":"{:03}","name":"web{:03}","ip":"10.0.{}.{}"}},"manager":{{"name":"vigil"}},"id":"1764324000.{i}","full_log":"Nov 28 10:00:00 web01 sshd[{i}]: Failed password for root from 198.51.100.{} port {} ssh2","predecoder":{{"program_name":"sshd","timestamp":"Nov 28 10:00:00","hostname":"web01"}},"decoder":{{"parent":"sshd","name":"sshd"}},"data":{{"srcip":"198.51.100.{}","srcport":"{}","dstuser":"root"}},"location":"/var/log/auth.log"}}"#,
        i / 60_000 % 60,
        i / 1000 % 60,
        i % 1000,
        i % 1000,
        i % 1000,
        i / 256 % 256,
        i % 256,
        i % 250,
        40000 + i % 20000,
        i % 250,
        40000 + i % 20000,
    )
}

/// Writes `alerts` alert lines into the home's alerts.json stream; returns its bytes.
pub fn write_log(home: &Path, alerts: u64) -> std::io::Result<u64> {
    let day = jiff::civil::date(2026, 11, 28);
    let stream = crate::output::writer::alerts_json(&home.join("logs"));
    let mut log = DailyLog::open(stream, Rotation::default(), day, 0)?;
    let mut bytes = 0;
    for i in 0..alerts {
        let line = alert(i, day) + "\n";
        bytes += line.len() as u64;
        log.push(line.as_bytes());
        if i % 10_000 == 0 {
            log.flush()?;
        }
    }
    log.flush()?;
    Ok(bytes)
}

/// Serves `_bulk` with an immediate "no errors" on a loopback port of its own thread; gives
/// the port.
pub fn accept_all() -> std::io::Result<u16> {
    super::receiver::serve("bench-bulk-sink", |_| async { (200, &br#"{"took":0,"errors":false,"items":[]}"#[..]) })
}

/// Starts the alerts shipper of the home `root` to `url` (gzip level `compression`, no
/// template), as `<indexer>` would.
fn start_shipper(root: &Path, url: &str, compression: u32) -> anyhow::Result<Arc<crate::indexer::stats::Stats>> {
    let xml = format!(
        "<ossec_config><indexer><enabled>yes</enabled><hosts><host>{url}</host></hosts>\
         <shipper><compression>{compression}</compression><template>none</template></shipper></indexer></ossec_config>"
    );
    let loaded = crate::config::parse(&xml, Path::new("bench.conf"));
    let consumers = Arc::new(crate::output::consumers::Consumers::new(None));
    let stats = crate::indexer::start(root, &loaded.config, &consumers)?;
    stats.into_iter().next().ok_or_else(|| anyhow::anyhow!("no shipper started"))
}

/// Ships `alerts` alerts from a fresh log under `root` to `url` with gzip level `compression`,
/// and measures the time until the last is confirmed.
pub fn run(root: &Path, alerts: u64, url: &str, compression: u32) -> anyhow::Result<ShipRun> {
    let bytes = write_log(root, alerts)?;
    let started = Instant::now();
    let stats = start_shipper(root, url, compression)?;
    while stats.shipped.load(Ordering::Relaxed) + stats.failed.load(Ordering::Relaxed) < alerts {
        if started.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("shipping did not finish in 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let elapsed = started.elapsed();
    Ok(ShipRun {
        alerts: stats.shipped.load(Ordering::Relaxed),
        elapsed,
        bytes,
        bulks: stats.bulks.load(Ordering::Relaxed),
    })
}

/// Time from alert to searchable at a steady rate: alerts are appended to the log at `rate`
/// per second for `seconds` (dated `day`, so they fill an index of their own, made first with
/// `refresh` as its refresh interval), while `_count` is polled every 50 ms; each alert's
/// latency is from its write to the first poll that counts it.
pub fn latency(
    root: &Path,
    url: &str,
    rate: u64,
    seconds: u64,
    refresh: &str,
    day: jiff::civil::Date,
) -> anyhow::Result<Vec<Duration>> {
    use crate::indexer::http::{Client, Request, Url};
    let index = format!("wazuh-alerts-4.x-{}", day.strftime("%Y.%m.%d"));
    let mut client = Client::new(vec![Url::parse(url).map_err(anyhow::Error::msg)?], None, None)?;
    let create = format!(r#"{{"settings":{{"index":{{"refresh_interval":"{refresh}"}}}}}}"#);
    let made = client.send(&Request {
        method: hyper::Method::PUT,
        path: &format!("/{index}"),
        body: create.into(),
        content_type: "application/json",
        gzip: false,
    })?;
    anyhow::ensure!(made.status == 200, "cannot create {index}: {}", String::from_utf8_lossy(&made.body));
    let stream = crate::output::writer::alerts_json(&root.join("logs"));
    let mut log = DailyLog::open(stream, Rotation::default(), day, 0)?;
    log.flush()?;
    start_shipper(root, url, 0)?;
    let total = rate * seconds;
    let started = Instant::now();
    let poller = std::thread::spawn(move || -> Vec<(Instant, u64)> {
        let mut seen = Vec::new();
        let path = format!("/{index}/_count");
        let get = Request {
            method: hyper::Method::GET,
            path: &path,
            body: hyper::body::Bytes::new(),
            content_type: "application/json",
            gzip: false,
        };
        while seen.last().is_none_or(|(_, n)| *n < total) && started.elapsed() < Duration::from_secs(seconds + 60) {
            let n = client
                .send(&get)
                .ok()
                .and_then(|r| serde_json::from_slice::<serde_json::Value>(&r.body).ok())
                .and_then(|v| v["count"].as_u64());
            if let Some(n) = n {
                seen.push((Instant::now(), n));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        seen
    });
    // Writes in 10 ms steps, each step's alerts at once.
    let mut written = Vec::with_capacity(total as usize);
    let per_step = (rate / 100).max(1);
    let mut i = 0;
    while i < total {
        let due = started + Duration::from_millis(10 * (i / per_step));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        for _ in 0..per_step.min(total - i) {
            log.push((alert(i, day) + "\n").as_bytes());
            i += 1;
        }
        log.flush()?;
        let now = Instant::now();
        written.resize(i as usize, now);
    }
    let seen = poller.join().map_err(|_| anyhow::anyhow!("the poller failed"))?;
    let mut latencies: Vec<Duration> = written
        .iter()
        .enumerate()
        .filter_map(|(i, at)| seen.iter().find(|(_, n)| *n > i as u64).map(|(t, _)| t.saturating_duration_since(*at)))
        .collect();
    anyhow::ensure!(
        latencies.len() == written.len(),
        "only {} of {} alerts became searchable",
        latencies.len(),
        written.len()
    );
    latencies.sort_unstable();
    Ok(latencies)
}
