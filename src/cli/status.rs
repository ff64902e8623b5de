//! `vigil status`: one screen on a home's server, from what it leaves on disk (the pid file, the
//! agent store, `var/run/vigil.prom` rewritten every 5 s): whether it runs, agents by status,
//! events and alerts per second, agent connections, the alert log, shipping and integration
//! lag, and the cluster settings.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use crate::home::Home;
use crate::store::Status;

/// Prometheus samples by metric name: `(labels, value)`.
type Samples = BTreeMap<String, Vec<(String, f64)>>;

/// `systemctl status`'s code for a service that does not run.
const NOT_RUNNING: u8 = 3;

/// Prints the summary; fails with 3 when no server runs on the home.
pub fn run(home: &Home) -> anyhow::Result<ExitCode> {
    if !home.config_file().exists() {
        anyhow::bail!("no vigil home at {} (vigil serve creates one)", home.root().display());
    }
    let pid = crate::server::pidfile::running(&home.pid_file());
    let prom = std::fs::read_to_string(home.path("var/run/vigil.prom")).unwrap_or_default();
    let counts = home.store().and_then(|s| s.status_counts()).ok();
    let cluster = crate::config::load(&home.config_file()).config.cluster;
    print!("{}", render(home, pid, counts.map(|(c, _)| c), &parse(&prom), &cluster));
    Ok(if pid.is_some() { ExitCode::SUCCESS } else { ExitCode::from(NOT_RUNNING) })
}

fn parse(text: &str) -> Samples {
    let mut samples = Samples::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let Ok(value) = value.parse::<f64>() else { continue };
        let (name, labels) = series.split_once('{').map_or((series, ""), |(n, l)| (n, l.trim_end_matches('}')));
        samples.entry(name.to_owned()).or_default().push((labels.to_owned(), value));
    }
    samples
}

fn total(samples: &Samples, name: &str) -> Option<f64> {
    samples.get(name).map(|values| values.iter().map(|(_, v)| v).sum())
}

fn render(
    home: &Home,
    pid: Option<i32>,
    counts: Option<[usize; 4]>,
    samples: &Samples,
    cluster: &crate::config::Cluster,
) -> String {
    let mut out = String::new();
    let root = home.root().display();
    let _ = match pid {
        Some(pid) => writeln!(out, "vigil: running (pid {pid}) on {root}"),
        None => writeln!(out, "vigil: not running on {root}"),
    };
    if let Some(counts) = counts {
        let parts: Vec<String> = Status::ALL.iter().zip(counts).map(|(s, n)| format!("{n} {}", s.as_str())).collect();
        let _ = writeln!(out, "agents: {}", parts.join(", "));
    }
    let n = |name: &str| total(samples, name).unwrap_or(0.0) as u64;
    if pid.is_some() && !samples.is_empty() {
        let _ = writeln!(
            out,
            "events: {} analysed ({}/s), {} alerts ({}/s), {} malformed",
            n("vigil_engine_events_total"),
            n("vigil_engine_events_per_second"),
            n("vigil_engine_alerts_total"),
            n("vigil_engine_alerts_per_second"),
            n("vigil_engine_malformed_total"),
        );
        let _ = writeln!(
            out,
            "agent connections: {} TCP; {} messages received",
            n("vigil_remote_tcp_sessions"),
            n("vigil_remote_received_messages_total")
        );
        let stalled = if n("vigil_output_stalled") > 0 { "STALLED (agents wait)" } else { "writing" };
        let _ = writeln!(out, "alert log: {stalled}, {} bytes written", n("vigil_output_bytes_total"));
        if samples.contains_key("vigil_indexer_lag_bytes") {
            let _ = writeln!(
                out,
                "indexer: {} shipped, lag {} bytes ({} s)",
                n("vigil_indexer_shipped_total"),
                n("vigil_indexer_lag_bytes"),
                n("vigil_indexer_lag_seconds")
            );
        }
        for (labels, lag) in samples.get("vigil_integration_lag_bytes").into_iter().flatten() {
            let _ = writeln!(out, "integration {labels}: lag {} bytes", *lag as u64);
        }
    } else if pid.is_some() {
        let _ = writeln!(out, "counters: none yet (var/run/vigil.prom is written every 5 s)");
    }
    let _ = if cluster.disabled {
        writeln!(out, "cluster: disabled")
    } else {
        writeln!(out, "cluster: {} node {} (vigil cluster status lists the nodes)", cluster.name, cluster.node_name)
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_is_summed_by_metric() {
        let text = "# HELP a x\n# TYPE a counter\na 3\nb{kind=\"x\"} 2\nb{kind=\"y\"} 5\nbroken\nc nan-ish\n";
        let samples = parse(text);
        assert_eq!(total(&samples, "a"), Some(3.0));
        assert_eq!(total(&samples, "b"), Some(7.0));
        assert_eq!(total(&samples, "c"), None);
        assert_eq!(samples["b"][1].0, "kind=\"y\"");
    }
}
