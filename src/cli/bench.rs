//! `vigil bench engine`: the full pipeline (pre-decode → decode → rules → alert JSON bytes)
//! over the home's ruleset, on generated corpora, with one and with two worker threads, and the
//! resident memory of the compiled ruleset; `vigil bench enroll`: enrollments per second;
//! `vigil bench agents`: events per second from agents to alerts; `vigil bench keepalives`:
//! ack latency and server memory with many idle agents; `vigil bench api`: REST API latency and
//! requests per second with many agents; `vigil bench modules`: FIM and inventory messages into
//! the state store.

use std::process::ExitCode;

use crate::bench::{self, corpus};
use crate::config;
use crate::engine::live::compile;
use crate::home::Home;

/// Runs the engine benchmark on `home` with `events` events per corpus.
pub fn run(home: &Home, events: usize) -> anyhow::Result<ExitCode> {
    let loaded = config::load(&home.config_file());
    let before = bench::resident_bytes().unwrap_or(0);
    let started = std::time::Instant::now();
    let (engine, _) = compile(home.root(), &loaded.config)?;
    let loaded_in = started.elapsed();
    let after = bench::resident_bytes().unwrap_or(0);
    let ruleset = engine.ruleset();
    println!(
        "ruleset: {} decoders, {} rules, {} lists; loaded in {:.2} s; resident memory {:.0} MB ({:.0} MB for the ruleset)",
        ruleset.decoders.len(),
        ruleset.rules.len(),
        ruleset.lists.all().len(),
        loaded_in.as_secs_f64(),
        after as f64 / 1e6,
        after.saturating_sub(before) as f64 / 1e6,
    );
    let now = jiff::Timestamp::now().as_second();
    let corpora = [("mix", corpus::mix(events, 2026)), ("auth-heavy", corpus::auth_heavy(events, 2026))];
    for (name, messages) in &corpora {
        // A warm-up pass fills caches and correlation state as a running server would have them.
        bench::pipeline(&engine, &messages[..messages.len().min(20_000)], 1, now);
        let one = bench::pipeline(&engine, messages, 1, now);
        let two = bench::pipeline(&engine, messages, 2, now);
        println!(
            "{name}: {} events, {} alerts ({:.1} MB JSON); 1 thread {:.0} ev/s; 2 threads {:.0} ev/s (x{:.2})",
            one.events,
            one.alerts,
            one.bytes as f64 / 1e6,
            one.per_second(),
            two.per_second(),
            two.per_second() / one.per_second().max(1e-9),
        );
    }
    println!("resident memory at the end: {:.0} MB", bench::resident_bytes().unwrap_or(0) as f64 / 1e6);
    Ok(ExitCode::SUCCESS)
}

/// Runs `bench` on a new temporary home, removed afterwards whatever happened.
fn on_temporary_home<T>(name: &str, bench: impl FnOnce(&std::path::Path) -> anyhow::Result<T>) -> anyhow::Result<T> {
    let root = std::env::temp_dir().join(format!("vigil-bench-{name}-{}", std::process::id()));
    let result = bench(&root);
    let _ = std::fs::remove_dir_all(&root);
    result
}

/// Runs the enrollment benchmark on a temporary home.
pub fn enroll(enrollments: usize, concurrency: usize) -> anyhow::Result<ExitCode> {
    let run = on_temporary_home("enroll", |root| bench::enroll::run(root, enrollments, concurrency))?;
    println!(
        "enroll: {} enrolled, {} failed, {} in the store, {} clients at once; {:.2} s; {:.0} enrollments/s",
        run.enrolled,
        run.failed,
        run.stored,
        run.concurrency,
        run.elapsed.as_secs_f64(),
        run.per_second()
    );
    Ok(if run.failed == 0 && run.stored == run.enrolled { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Runs the cluster benchmark on temporary homes.
pub fn cluster(nats: &str, nodes: usize, samples: usize, burst: usize) -> anyhow::Result<ExitCode> {
    let run = on_temporary_home("cluster", |root| bench::cluster::run(root, nats, nodes, samples, burst))?;
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let p = |v: &[std::time::Duration], q| ms(bench::percentile(v, q));
    println!(
        "cluster ({nodes} nodes): key usable on every node p50 {:.1} ms, p99 {:.1} ms; shared file on every node p50 {:.1} ms, p99 {:.1} ms",
        p(&run.key_visible, 0.5),
        p(&run.key_visible, 0.99),
        p(&run.file_visible, 0.5),
        p(&run.file_visible, 0.99),
    );
    println!(
        "cluster burst: {} enrollments in {:.2} s over {nodes} nodes, on every node after {:.2} s; {} ids or names given twice",
        run.burst.0,
        run.burst.1.as_secs_f64(),
        run.converged.as_secs_f64(),
        run.duplicates
    );
    Ok(if run.duplicates == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Runs the agent load benchmark on a temporary home.
pub fn agents(agents: usize, events: u64, poll: bool) -> anyhow::Result<ExitCode> {
    use crate::config::IoDriver;
    let limit = crate::server::raise_open_files(agents as u64 * 2 + 256);
    if limit < agents as u64 * 2 + 64 {
        anyhow::bail!("{agents} agents need {} open files; the limit is {limit}", agents * 2 + 64);
    }
    let driver = if poll { IoDriver::Poll } else { IoDriver::Auto };
    let run = on_temporary_home("agents", |root| bench::agents::run(root, agents, events, driver))?;
    println!(
        "agents: {} connected ({} acks), driver {}; {} events sent, {} analysed, {} alerts; {:.2} s; {:.0} events/s end to end; resident memory {:.0} MB",
        run.agents,
        run.acks,
        run.driver,
        run.sent,
        run.analysed,
        run.alerts,
        run.elapsed.as_secs_f64(),
        run.per_second(),
        bench::resident_bytes().unwrap_or(0) as f64 / 1e6,
    );
    Ok(if run.analysed == run.sent { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Runs the idle-agents benchmark against a server child on a temporary home.
pub fn keepalives(agents: usize, rounds: usize, spread: u64) -> anyhow::Result<ExitCode> {
    let limit = crate::server::raise_open_files(agents as u64 + 256);
    if limit < agents as u64 + 64 {
        anyhow::bail!("{agents} agents need {} open files; the limit is {limit}", agents + 64);
    }
    let spread = std::time::Duration::from_secs(spread);
    let run = on_temporary_home("keepalives", |root| bench::keepalives::run(root, agents, rounds, spread))?;
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    println!(
        "keepalives: {} agents connected, driver {}; {} acks; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; server resident memory {:.0} MB",
        run.agents,
        run.driver,
        run.acked,
        ms(run.percentile(0.5)),
        ms(run.percentile(0.99)),
        ms(run.percentile(1.0)),
        run.server_rss as f64 / 1e6,
    );
    Ok(if run.acked == run.agents * rounds { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Runs the agent-modules benchmark on a temporary home.
pub fn modules(messages: usize) -> anyhow::Result<ExitCode> {
    let run = on_temporary_home("modules", |root| bench::modules::run(root, messages))?;
    println!(
        "modules: {} FIM events into the state store at {:.0}/s; {} inventory deltas at {:.0}/s (one thread, {} per transaction); \
         a {}-package inventory snapshot stored in {:.1} ms",
        run.fim.0,
        run.fim_per_second(),
        run.inventory.0,
        run.inventory_per_second(),
        256,
        run.snapshot.0,
        run.snapshot.1.as_secs_f64() * 1000.0,
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs the integrations benchmark on temporary homes: each integration's throughput to a
/// receiver that keeps up, then the engine at `rate` events/s with all of them enabled against
/// receivers that answer in 50 ms, and that never answer.
pub fn integrations(alerts: u64, rate: u64, seconds: u64) -> anyhow::Result<ExitCode> {
    use bench::integrations::{Pace, SERVICES, isolation, throughput};
    let mut ok = true;
    for service in SERVICES {
        let elapsed = on_temporary_home(&format!("int-{}", service.0), |root| throughput(root, service, alerts))?;
        let per_second = alerts as f64 / elapsed.as_secs_f64().max(1e-9);
        ok &= per_second >= 1000.0;
        println!(
            "integration {}: {alerts} alerts delivered in {:.2} s: {per_second:.0} alerts/s",
            service.0,
            elapsed.as_secs_f64()
        );
    }
    for (name, pace) in
        [("answering in 50 ms", Pace::Slow(std::time::Duration::from_millis(50))), ("hanging", Pace::Hang)]
    {
        let run = on_temporary_home("int-isolation", |root| isolation(root, rate, seconds, pace))?;
        let kept_up = run.written == run.offered && run.worst_delay < std::time::Duration::from_millis(500);
        ok &= kept_up;
        println!(
            "engine at {rate} events/s for {seconds} s, {} integrations {name}: {} of {} events written ({} alerts), input at worst {:.0} ms behind, {} requests answered: {}",
            SERVICES.len(),
            run.written,
            run.offered,
            run.alerts,
            run.worst_delay.as_secs_f64() * 1000.0,
            run.answered,
            if kept_up { "kept up" } else { "FELL BEHIND" }
        );
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Runs the indexer shipper benchmark on temporary homes.
pub fn indexer(alerts: u64, url: Option<String>, rate: u64, seconds: u64) -> anyhow::Result<ExitCode> {
    if let (Some(url), true) = (&url, rate > 0) {
        // A fresh index per refresh interval: 5 s as Wazuh's template sets it, and 1 s.
        for (refresh, day) in [("5s", 1), ("1s", 2)] {
            let day = jiff::civil::date(2030, 1, day);
            let latencies = on_temporary_home(&format!("indexer-latency-{day}"), |root| {
                bench::indexer::latency(root, url, rate, seconds, refresh, day)
            })?;
            let ms = |q| bench::percentile(&latencies, q).as_secs_f64() * 1000.0;
            println!(
                "indexer: {} alerts at {rate}/s to {url}, refresh {refresh}: alert to searchable p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
                latencies.len(),
                ms(0.5),
                ms(0.99),
                ms(1.0),
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let runs: Vec<(String, u32)> = match url {
        Some(url) => vec![(url, 0)],
        None => {
            let port = bench::indexer::accept_all()?;
            let local = format!("http://127.0.0.1:{port}");
            vec![(local.clone(), 0), (local, 1)]
        }
    };
    for (url, level) in runs {
        let run =
            on_temporary_home(&format!("indexer-{level}"), |root| bench::indexer::run(root, alerts, &url, level))?;
        println!(
            "indexer: {} alerts ({:.0} MB of log) shipped to {url} in {} bulks, gzip level {level}: {:.0} alerts/s",
            run.alerts,
            run.bytes as f64 / 1e6,
            run.bulks,
            run.per_second(),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the API benchmark on a temporary home.
pub fn api(agents: usize, seconds: u64, connections: usize) -> anyhow::Result<ExitCode> {
    let run = on_temporary_home("api", |root| bench::api::run(root, agents, seconds, connections))?;
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let p = |values: &[std::time::Duration], q| ms(bench::percentile(values, q));
    println!(
        "api: {} agents; GET /agents?limit=500 p50 {:.2} ms, p99 {:.2} ms; GET /agents/summary/status p50 {:.2} ms, p99 {:.2} ms; \
         GET /agents?limit=10 over {} connections: {} answered, {} failed, {:.0} requests/s",
        run.agents,
        p(&run.list, 0.5),
        p(&run.list, 0.99),
        p(&run.summary, 0.5),
        p(&run.summary, 0.99),
        run.connections,
        run.answered,
        run.failed,
        run.per_second(),
    );
    Ok(if run.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
