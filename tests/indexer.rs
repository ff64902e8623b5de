//! Shipping to a real OpenSearch 2.19 node (started from `tests/opensearch/`): alerts from a
//! running `vigil serve` land in Wazuh's daily index with the template's mappings; a SIGKILL in
//! the middle of shipping and an indexer outage lose nothing and duplicate nothing; documents
//! the indexer refuses go to the dead-letter file and the rest land; TLS with basic auth
//! through nginx works and refused credentials are retried, never dropped.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::server::{log, start, wait_for};
use common::{ok, scratch};
use serde_json::Value;

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/opensearch").join(name)
}

fn template() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/wazuh/indexer/wazuh-template.json")
}

/// A helper service (OpenSearch or nginx) started by its script, stopped when dropped.
struct Service {
    script: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl Service {
    fn start(script: PathBuf, dir: &Path, args: &[String]) -> Self {
        let out =
            Command::new("bash").arg(&script).arg("start").arg(dir).args(args).output().expect("run the start script");
        assert!(out.status.success(), "{} failed: {}", script.display(), String::from_utf8_lossy(&out.stderr));
        let port = String::from_utf8_lossy(&out.stdout).trim().lines().last().unwrap_or("").parse().expect("a port");
        Self { script, dir: dir.to_owned(), port }
    }

    fn stop(&self) {
        let status = Command::new("bash").arg(&self.script).arg("stop").arg(&self.dir).status().expect("stop");
        assert!(status.success());
    }

    fn restart(&self) {
        let out = Command::new("bash")
            .arg(&self.script)
            .arg("start")
            .arg(&self.dir)
            .arg(self.port.to_string())
            .output()
            .expect("restart");
        assert!(out.status.success(), "restart failed: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Kills a `vigil serve` however the test ends.
struct Serve(std::process::Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Serve {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(&self.script).arg("stop").arg(&self.dir).status();
    }
}

/// `curl` against the node; the JSON answer.
fn call(port: u16, method: &str, path: &str, body: Option<&str>) -> Value {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-X", method, &format!("http://127.0.0.1:{port}{path}")]);
    if let Some(body) = body {
        cmd.args(["-H", "Content-Type: application/json", "-d", body]);
    }
    let out = cmd.output().expect("curl");
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn count(port: u16, index: &str) -> u64 {
    call(port, "POST", &format!("/{index}/_refresh"), None);
    call(port, "GET", &format!("/{index}/_count"), None)["count"].as_u64().unwrap_or(0)
}

fn alert_lines(home: &Path) -> Vec<Value> {
    let mut lines = Vec::new();
    for entry in walk(&home.join("logs/alerts")) {
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("ossec-alerts-") && name.ends_with(".json") {
            let text = std::fs::read_to_string(&entry).expect("read");
            lines.extend(text.lines().map(|l| serde_json::from_str::<Value>(l).expect("JSON line")));
        }
    }
    lines
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}

fn send_failures(home: &Path, n: usize, from: usize) {
    let queue = home.join("queue/sockets/queue");
    let sender = UnixDatagram::unbound().expect("socket");
    for i in from..from + n {
        let line = format!(
            "1:/var/log/auth.log:Nov 27 12:00:00 web01 sshd[{i}]: Failed password for root from 198.51.100.7 port {} ssh2",
            40000 + i % 20000
        );
        sender.send_to(line.as_bytes(), &queue).expect("send");
    }
}

fn indexer_block(port: u16) -> String {
    format!(
        "<ossec_config><indexer><enabled>yes</enabled><hosts><host>http://127.0.0.1:{port}</host></hosts>\
         <shipper><flush_interval>200</flush_interval><template>{}</template></shipper></indexer></ossec_config>\n",
        template().display()
    )
}

fn serve_home(port: u16) -> common::Scratch {
    let s = scratch();
    ok(&s.home, &["agents", "list"]);
    let conf = s.home.join("etc/ossec.conf");
    let mut text = std::fs::read_to_string(&conf).expect("ossec.conf");
    text = text.replace("<port>55000</port>", &format!("<port>{}</port>", common::server::free_port()));
    text.push_str(&indexer_block(port));
    std::fs::write(&conf, text).expect("write ossec.conf");
    s
}

fn prom(home: &Path) -> String {
    std::fs::read_to_string(home.join("var/run/vigil.prom")).unwrap_or_default()
}

/// A count from the environment (the heavy tier ships more), else `default`.
fn scale(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
fn alerts_reach_opensearch_exactly_once_through_kills_outages_refusals_and_tls() {
    let (killed, during_outage) = (scale("VIGIL_INDEXER_ALERTS", 20_000), scale("VIGIL_INDEXER_OUTAGE_ALERTS", 3_000));
    let outage = Duration::from_secs(scale("VIGIL_INDEXER_OUTAGE_SECS", 0) as u64);
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Service::start(script("opensearch.sh"), &dir.path().join("node"), &[]);
    let port = node.port;
    let pattern = "wazuh-alerts-4.x-*";

    // 1. End to end: events in, alerts searchable with the template's mappings.
    let s = serve_home(port);
    let mut server = Serve(start(&s.home));
    wait_for("start-up", Duration::from_secs(30), || log(&s.home).contains("INFO: Started"));
    send_failures(&s.home, 8, 0);
    wait_for("8 alerts indexed", Duration::from_secs(60), || count(port, pattern) == 8);
    let mapping =
        call(port, "GET", &format!("/{pattern}/_mapping/field/timestamp,agent.id,rule.level,@timestamp"), None);
    let (_, index) = mapping.as_object().and_then(|m| m.iter().next()).expect("an index");
    let fields = &index["mappings"];
    assert_eq!(fields["timestamp"]["mapping"]["timestamp"]["type"], "date");
    assert_eq!(fields["agent.id"]["mapping"]["id"]["type"], "keyword");
    assert_eq!(fields["rule.level"]["mapping"]["level"]["type"], "long");
    assert_eq!(fields["@timestamp"]["mapping"]["@timestamp"]["type"], "date");
    let hits = call(port, "GET", &format!("/{pattern}/_search?q=rule.id:800110"), None);
    assert_eq!(hits["hits"]["total"]["value"], 1, "{hits}");
    let doc = &hits["hits"]["hits"][0]["_source"];
    assert_eq!(doc["rule"]["frequency"], 8);
    assert!(doc["@timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));

    // 2. SIGKILL in the middle of shipping 20,000 alerts, then a restart: each alert once.
    send_failures(&s.home, killed, 8);
    wait_for("shipping under way", Duration::from_secs(120), || count(port, pattern) > 100);
    server.kill();
    server = Serve(start(&s.home));
    wait_for("restart", Duration::from_secs(30), || log(&s.home).matches("INFO: Started").count() == 2);
    let written = alert_lines(&s.home).len() as u64;
    assert!(written > 8, "alerts were written before the kill");
    wait_for("every alert indexed", Duration::from_secs(600), || count(port, pattern) >= written);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(count(port, pattern), written, "exactly once: no duplicates after the kill");
    let repeated = call(
        port,
        "POST",
        &format!("/{pattern}/_search?size=0"),
        Some(r#"{"aggs":{"ids":{"terms":{"field":"id","min_doc_count":2,"size":10,"shard_size":100000}}}}"#),
    );
    let buckets = &repeated["aggregations"]["ids"]["buckets"];
    assert_eq!(buckets.as_array().map(Vec::len), Some(0), "an alert id indexed twice: {buckets}");

    // 3. The indexer goes away under load and comes back: nothing lost, lag back to zero.
    node.stop();
    send_failures(&s.home, during_outage, killed + 8);
    let expected = written + during_outage as u64;
    wait_for("the alerts written", Duration::from_secs(300), || alert_lines(&s.home).len() as u64 >= expected);
    std::thread::sleep(outage);
    wait_for("lag seen", Duration::from_secs(30), || {
        !prom(&s.home).contains("vigil_indexer_lag_bytes{stream=\"alerts\"} 0\n")
    });
    node.restart();
    let written = alert_lines(&s.home).len() as u64;
    wait_for("caught up", Duration::from_secs(600), || count(port, pattern) == written);
    wait_for("lag zero", Duration::from_secs(30), || {
        prom(&s.home).contains("vigil_indexer_lag_bytes{stream=\"alerts\"} 0\n")
    });
    assert!(prom(&s.home).contains("vigil_indexer_host_up{stream=\"alerts\",host=\"http://127.0.0.1"));
    server.kill();

    // 4. Refused documents: the rest land, the refused are in the dead-letter file.
    refused_documents_are_dead_lettered(port);

    // 5. TLS and basic auth through nginx; wrong credentials are retried, never dropped.
    through_tls_with_basic_auth(port, dir.path());

    // 6. GeoLocation from a GeoLite2 database, mapped as the template's geo_point.
    located_alerts_get_a_geo_point(port);
}

/// The GeoLite2 City database the PyPI package `maxminddb-geolite2` ships (scripts/test.sh
/// installs it).
fn geolite2() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import _maxminddb_geolite2, os; print(os.path.join(os.path.dirname(_maxminddb_geolite2.__file__), 'GeoLite2-City.mmdb'))"])
        .output()
        .expect("python3");
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(path.is_file(), "pip install maxminddb-geolite2 (its GeoLite2-City.mmdb is needed)");
    path
}

#[test]
fn geolocation_comes_from_the_last_address_field_the_database_knows() {
    let geo = vigil::indexer::geo::Geo::open(&geolite2()).expect("open GeoLite2");
    let us = geo.locate("8.8.8.8".parse().expect("ip")).expect("8.8.8.8 is in GeoLite2");
    assert_eq!(us["country_name"], "United States");
    assert!(us["location"]["lat"].is_f64() && us["location"]["lon"].is_f64());
    assert!(geo.locate("10.0.0.1".parse().expect("ip")).is_none(), "private addresses are nowhere");
    let alert = serde_json::json!({"data": {"srcip": "10.1.1.1", "win": {"eventdata": {"ipAddress": "8.8.8.8"}}}});
    assert_eq!(geo.geolocation(&alert).map(|g| g["country_name"].clone()), Some(Value::from("United States")));
    assert!(geo.geolocation(&serde_json::json!({"data": {"srcip": "not an address"}})).is_none());
}

fn located_alerts_get_a_geo_point(port: u16) {
    let line = r#"{"timestamp":"2020-01-07T10:00:00.000+0000","rule":{"level":3,"id":"5716"},"agent":{"id":"000","name":"m"},"id":"1.1","data":{"srcip":"8.8.8.8"},"location":"test"}"#;
    let extra = format!("<shipper><geoip>{}</geoip></shipper>", geolite2().display());
    let (_home, stats) = ship_lines(&[line.to_owned()], &format!("http://127.0.0.1:{port}"), &extra);
    wait_for("shipped", Duration::from_secs(60), || stats.shipped.load(Ordering::Relaxed) == 1);
    count(port, "wazuh-alerts-4.x-2020.01.07");
    let hits = call(port, "GET", "/wazuh-alerts-4.x-2020.01.07/_search", None);
    assert_eq!(hits["hits"]["hits"][0]["_source"]["GeoLocation"]["country_name"], "United States", "{hits}");
    let mapping = call(port, "GET", "/wazuh-alerts-4.x-2020.01.07/_mapping/field/GeoLocation.location", None);
    let field = &mapping["wazuh-alerts-4.x-2020.01.07"]["mappings"]["GeoLocation.location"]["mapping"]["location"];
    assert_eq!(field["type"], "geo_point", "{mapping}");
}

/// A home whose alerts.json holds `lines`, shipped in-process to `host`.
fn ship_lines(lines: &[String], host: &str, extra: &str) -> (tempfile::TempDir, Arc<vigil::indexer::stats::Stats>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();
    let stream = vigil::output::writer::alerts_json(&home.join("logs"));
    let day = jiff::civil::date(2020, 1, 5);
    let mut log =
        vigil::output::daily::DailyLog::open(stream, vigil::output::daily::Rotation::default(), day, 0).expect("log");
    for line in lines {
        log.append(format!("{line}\n").as_bytes(), day, 0).expect("append");
    }
    log.flush().expect("flush");
    let xml = format!(
        "<ossec_config><indexer><enabled>yes</enabled><hosts><host>{host}</host></hosts>\
         <shipper><flush_interval>100</flush_interval><template>{}</template></shipper>{extra}</indexer></ossec_config>",
        template().display(),
    );
    let loaded = vigil::config::parse(&xml, Path::new("ossec.conf"));
    assert_eq!(loaded.errors().count(), 0, "config problems: {:?}", loaded.problems);
    let config = loaded.config;
    let consumers = Arc::new(vigil::output::consumers::Consumers::new(None));
    let stats = vigil::indexer::start(home, &config, &consumers).expect("start the shipper");
    (dir, Arc::clone(&stats[0]))
}

fn alert(day: u32, i: usize, level: &str) -> String {
    format!(
        r#"{{"timestamp":"2020-01-{day:02}T10:00:00.{:03}+0000","rule":{{"level":{level},"id":"5710"}},"agent":{{"id":"000","name":"m"}},"id":"1578218400.{i}","location":"test"}}"#,
        i % 1000
    )
}

fn refused_documents_are_dead_lettered(port: u16) {
    // rule.level is a long in Wazuh's template: a word there is a mapping error.
    let lines: Vec<String> = (0..50).map(|i| alert(5, i, if i % 10 == 3 { "\"high\"" } else { "5" })).collect();
    let (home, stats) = ship_lines(&lines, &format!("http://127.0.0.1:{port}"), "");
    wait_for("all sorted", Duration::from_secs(60), || {
        stats.shipped.load(Ordering::Relaxed) + stats.failed.load(Ordering::Relaxed) == 50
    });
    assert_eq!(stats.failed.load(Ordering::Relaxed), 5);
    assert_eq!(count(port, "wazuh-alerts-4.x-2020.01.05"), 45);
    let dead = std::fs::read_to_string(home.path().join("logs/indexer/alerts-dead-letter.json")).expect("dead letters");
    let dead: Vec<Value> = dead.lines().map(|l| serde_json::from_str(l).expect("JSON")).collect();
    assert_eq!(dead.len(), 5);
    assert!(dead.iter().all(|d| d["status"] == 400 && d["reason"].as_str().is_some_and(|r| r.contains("mapper_parsing_exception"))));
    assert!(dead[0]["document"].as_str().is_some_and(|d| d.contains("\"high\"")));
}

fn through_tls_with_basic_auth(port: u16, dir: &Path) {
    let proxy_dir = dir.join("nginx");
    let proxy = Service::start(script("nginx.sh"), &proxy_dir, &[port.to_string()]);
    let ca = proxy_dir.join("ca.pem");
    let good = dir.join("good.cred");
    std::fs::write(&good, "vigil:s3cret-pass\n").expect("write");
    let bad = dir.join("bad.cred");
    std::fs::write(&bad, "vigil:wrong\n").expect("write");
    let host = format!("https://127.0.0.1:{}", proxy.port);
    let ssl = format!("<ssl><certificate_authorities><ca>{}</ca></certificate_authorities></ssl>", ca.display());

    let lines: Vec<String> = (0..20).map(|i| alert(6, i, "3")).collect();
    // No template to ask for: straight to _bulk, which answers 401.
    let (refused_home, refused) = ship_lines(
        &lines,
        &host,
        &format!(
            "{ssl}<shipper><template>none</template><credentials_file>{}</credentials_file></shipper>",
            bad.display()
        ),
    );
    let (_home, stats) = ship_lines(
        &lines,
        &host,
        &format!("{ssl}<shipper><credentials_file>{}</credentials_file></shipper>", good.display()),
    );
    wait_for("shipped over TLS", Duration::from_secs(60), || stats.shipped.load(Ordering::Relaxed) == 20);
    assert_eq!(count(port, "wazuh-alerts-4.x-2020.01.06"), 20, "the same lines twice are the same 20 documents");
    // A CA that did not sign nginx's certificate: the handshake fails, and is retried.
    let other_ca = dir.join("other-ca.pem");
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("certificate");
    std::fs::write(&other_ca, other.cert.pem()).expect("write");
    let wrong_ssl =
        format!("<ssl><certificate_authorities><ca>{}</ca></certificate_authorities></ssl>", other_ca.display());
    let (_untrusted_home, untrusted) = ship_lines(
        &lines,
        &host,
        &format!(
            "{wrong_ssl}<shipper><template>none</template><credentials_file>{}</credentials_file></shipper>",
            good.display()
        ),
    );
    wait_for("refusals retried", Duration::from_secs(30), || refused.retried.load(Ordering::Relaxed) >= 40);
    wait_for("TLS failures retried", Duration::from_secs(30), || untrusted.retried.load(Ordering::Relaxed) >= 40);
    assert_eq!(untrusted.shipped.load(Ordering::Relaxed), 0, "an unknown CA is never trusted");
    assert_eq!(untrusted.json(0)["hosts"][0]["status"], "down");
    assert_eq!(
        refused.shipped.load(Ordering::Relaxed) + refused.failed.load(Ordering::Relaxed),
        0,
        "401 drops nothing"
    );
    assert!(!refused_home.path().join("logs/indexer").exists(), "and dead-letters nothing");
    proxy.stop();
}
