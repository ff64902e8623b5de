//! The shipper against an indexer that misbehaves on purpose (a scripted `_bulk` endpoint; the
//! real node is in tests/indexer.rs): a host that is down is failed over, 429 is backed off and
//! retried, 413 splits the batch, a per-document 429 re-sends only that document, a failed TLS
//! handshake is retried. Nothing is lost and nothing is sent twice once confirmed.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;

/// What the scripted endpoint saw: each `_bulk` body's documents (their `_id`s).
#[derive(Default)]
struct Seen {
    bulks: Mutex<Vec<Vec<String>>>,
    indices: Mutex<Vec<String>>,
    requests: AtomicUsize,
}

/// How the endpoint answers request number `n` carrying `docs` documents in `body`.
type Script = fn(n: usize, docs: usize, body: &[u8]) -> (u16, Option<&'static str>);

fn ids(body: &[u8]) -> Vec<String> {
    body.split(|b| *b == b'\n')
        .filter_map(|l| serde_json::from_slice::<serde_json::Value>(l).ok())
        .filter_map(|v| v["index"]["_id"].as_str().map(str::to_owned))
        .collect()
}

fn indices(body: &[u8]) -> Vec<String> {
    body.split(|b| *b == b'\n')
        .filter_map(|l| serde_json::from_slice::<serde_json::Value>(l).ok())
        .filter_map(|v| v["index"]["_index"].as_str().map(str::to_owned))
        .collect()
}

/// Serves `_bulk` on a loopback port by `script`; success answers list one 201 per document,
/// except that with `Some("item429")` the first document is refused with 429.
fn endpoint(script: Script, seen: Arc<Seen>) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            while let Ok((stream, _)) = listener.accept().await {
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let seen = Arc::clone(&seen);
                        async move {
                            let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            let docs = ids(&body);
                            let n = seen.requests.fetch_add(1, Ordering::SeqCst);
                            let (status, special) = script(n, docs.len(), &body);
                            let mut answer = hyper::Response::builder().status(status);
                            let text = match (status, special) {
                                (200, Some("item429")) if docs.len() > 1 => {
                                    let mut items = vec![r#"{"index":{"status":429,"error":{"type":"es_rejected_execution_exception"}}}"#.to_owned()];
                                    items.extend(docs.iter().skip(1).map(|_| r#"{"index":{"status":201}}"#.to_owned()));
                                    seen.bulks.lock().expect("lock").push(docs[1..].to_vec());
                                    format!(r#"{{"errors":true,"items":[{}]}}"#, items.join(","))
                                }
                                (200, _) => {
                                    seen.indices.lock().expect("lock").extend(indices(&body));
                                    seen.bulks.lock().expect("lock").push(docs);
                                    r#"{"errors":false,"items":[]}"#.to_owned()
                                }
                                (429, _) => {
                                    answer = answer.header("retry-after", "0");
                                    r#"{"error":"too many requests"}"#.to_owned()
                                }
                                _ => r#"{"error":"refused"}"#.to_owned(),
                            };
                            Ok::<_, std::convert::Infallible>(answer.body(Full::new(Bytes::from(text))).expect("response"))
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
    });
    port
}

fn alert(i: usize) -> String {
    format!(
        r#"{{"timestamp":"2020-02-01T10:00:00.{:03}+0000","rule":{{"level":3,"id":"5716"}},"agent":{{"id":"000","name":"m"}},"id":"1.{i}","full_log":"{}"}}"#,
        i % 1000,
        "x".repeat(200)
    )
}

/// Ships `n` alerts from a fresh log to `hosts` (with `extra` in `<indexer>`); waits until each
/// is confirmed, or fails after a while.
fn ship(n: usize, hosts: &[String], extra: &str) -> (tempfile::TempDir, Arc<vigil::indexer::stats::Stats>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let stream = vigil::output::writer::alerts_json(&dir.path().join("logs"));
    let day = jiff::civil::date(2020, 2, 1);
    let mut log =
        vigil::output::daily::DailyLog::open(stream, vigil::output::daily::Rotation::default(), day, 0).expect("log");
    for i in 0..n {
        log.push(format!("{}\n", alert(i)).as_bytes());
    }
    log.flush().expect("flush");
    let hosts: String = hosts.iter().map(|h| format!("<host>{h}</host>")).collect();
    let xml = format!(
        "<ossec_config><indexer><enabled>yes</enabled><hosts>{hosts}</hosts>\
         <shipper><batch_docs>100</batch_docs><flush_interval>10</flush_interval><template>none</template></shipper>{extra}</indexer></ossec_config>"
    );
    let loaded = vigil::config::parse(&xml, Path::new("ossec.conf"));
    assert_eq!(loaded.errors().count(), 0, "{:?}", loaded.problems);
    let consumers = Arc::new(vigil::output::consumers::Consumers::new(None));
    let stats = vigil::indexer::start(dir.path(), &loaded.config, &consumers).expect("start");
    (dir, Arc::clone(&stats[0]))
}

fn wait(what: &str, limit: Duration, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every alert exactly once among what the endpoint confirmed.
fn each_once(seen: &Seen, n: usize) {
    let mut all: Vec<String> = seen.bulks.lock().expect("lock").iter().flatten().cloned().collect();
    assert_eq!(all.len(), n, "confirmed documents");
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "no document confirmed twice");
}

#[test]
fn a_host_that_is_down_is_failed_over() {
    let seen = Arc::new(Seen::default());
    let port = endpoint(|_, _, _| (200, None), Arc::clone(&seen));
    let dead = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let hosts = [format!("http://127.0.0.1:{dead}"), format!("http://127.0.0.1:{port}")];
    let (_dir, stats) = ship(500, &hosts, "");
    wait("shipped", Duration::from_secs(30), || stats.shipped.load(Ordering::Relaxed) == 500);
    each_once(&seen, 500);
    let health = stats.json(0)["hosts"].clone();
    assert_eq!(health[0]["status"], "down", "{health}");
    assert_eq!(health[1]["status"], "up", "{health}");
}

#[test]
fn too_many_requests_is_backed_off_and_retried() {
    let seen = Arc::new(Seen::default());
    // The first three requests are refused with 429.
    let port = endpoint(|n, _, _| if n < 3 { (429, None) } else { (200, None) }, Arc::clone(&seen));
    let (_dir, stats) = ship(300, &[format!("http://127.0.0.1:{port}")], "");
    wait("shipped", Duration::from_secs(30), || stats.shipped.load(Ordering::Relaxed) == 300);
    each_once(&seen, 300);
    assert!(stats.retried.load(Ordering::Relaxed) >= 300, "three refused batches of 100");
    assert_eq!(stats.failed.load(Ordering::Relaxed), 0);
}

#[test]
fn too_large_requests_are_split() {
    let seen = Arc::new(Seen::default());
    // Bodies of more than 25 documents are too large.
    let port = endpoint(|_, docs, _| if docs > 25 { (413, None) } else { (200, None) }, Arc::clone(&seen));
    let (_dir, stats) = ship(300, &[format!("http://127.0.0.1:{port}")], "");
    wait("shipped", Duration::from_secs(30), || stats.shipped.load(Ordering::Relaxed) == 300);
    each_once(&seen, 300);
    assert!(seen.bulks.lock().expect("lock").iter().all(|b| b.len() <= 25));
}

#[test]
fn a_document_refused_for_now_is_sent_again_alone() {
    let seen = Arc::new(Seen::default());
    let port = endpoint(|_, _, _| (200, Some("item429")), Arc::clone(&seen));
    let (_dir, stats) = ship(200, &[format!("http://127.0.0.1:{port}")], "");
    wait("shipped", Duration::from_secs(30), || stats.shipped.load(Ordering::Relaxed) == 200);
    each_once(&seen, 200);
    assert!(stats.retried.load(Ordering::Relaxed) >= 2);
}

#[test]
fn a_failed_tls_handshake_is_retried_never_sent_in_clear() {
    let seen = Arc::new(Seen::default());
    let port = endpoint(|_, _, _| (200, None), Arc::clone(&seen));
    // An https host that speaks plain HTTP: the handshake fails (a wrong CA is in tests/indexer.rs).
    let dir = tempfile::tempdir().expect("tempdir");
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("cert");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, other.cert.pem()).expect("write");
    let extra = format!("<ssl><certificate_authorities><ca>{}</ca></certificate_authorities></ssl>", ca.display());
    let (_home, stats) = ship(10, &[format!("https://127.0.0.1:{port}")], &extra);
    wait("retries", Duration::from_secs(30), || stats.retried.load(Ordering::Relaxed) >= 20);
    assert_eq!(stats.shipped.load(Ordering::Relaxed) + stats.failed.load(Ordering::Relaxed), 0);
    assert_eq!(seen.bulks.lock().expect("lock").len(), 0, "nothing reached the endpoint in clear");
}

#[test]
fn a_refused_template_does_not_hold_shipping_back() {
    let seen = Arc::new(Seen::default());
    // Template requests carry no documents: every one is refused with 400.
    let port = endpoint(|_, docs, _| if docs == 0 { (400, None) } else { (200, None) }, Arc::clone(&seen));
    let dir = tempfile::tempdir().expect("tempdir");
    let template = dir.path().join("template.json");
    std::fs::write(&template, b"{\"index_patterns\":[\"wazuh-alerts-4.x-*\"]}").expect("write");
    let extra = format!("<shipper><template>{}</template></shipper>", template.display());
    let (_home, stats) = ship(50, &[format!("http://127.0.0.1:{port}")], &extra);
    wait("shipped", Duration::from_secs(30), || stats.shipped.load(Ordering::Relaxed) == 50);
    each_once(&seen, 50);
    assert!(
        seen.requests.load(Ordering::SeqCst) > seen.bulks.lock().expect("lock").len(),
        "the template was asked for"
    );
}

#[test]
fn a_bad_request_is_narrowed_down_to_the_document_at_fault() {
    let seen = Arc::new(Seen::default());
    // Any request holding alert 137 is refused whole with 400.
    let port = endpoint(
        |_, _, body| {
            if memchr::memmem::find(body, b"\"id\":\"1.137\"").is_some() { (400, None) } else { (200, None) }
        },
        Arc::clone(&seen),
    );
    let (home, stats) = ship(300, &[format!("http://127.0.0.1:{port}")], "");
    wait("sorted", Duration::from_secs(30), || {
        stats.shipped.load(Ordering::Relaxed) + stats.failed.load(Ordering::Relaxed) == 300
    });
    assert_eq!(stats.failed.load(Ordering::Relaxed), 1, "only the document at fault");
    each_once(&seen, 299);
    let dead = std::fs::read_to_string(home.path().join("logs/indexer/alerts-dead-letter.json")).expect("dead letter");
    assert_eq!(dead.lines().count(), 1);
    assert!(dead.contains("1.137"));
}

#[test]
fn archives_go_to_the_archives_indices_when_asked() {
    let seen = Arc::new(Seen::default());
    let port = endpoint(|_, _, _| (200, None), Arc::clone(&seen));
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    let day = jiff::civil::date(2020, 2, 1);
    for stream in [vigil::output::writer::alerts_json(&logs), vigil::output::writer::archives_json(&logs)] {
        let rotation = vigil::output::daily::Rotation::default();
        let mut log = vigil::output::daily::DailyLog::open(stream, rotation, day, 0).expect("log");
        for i in 0..10 {
            log.push(format!("{}\n", alert(i)).as_bytes());
        }
        log.flush().expect("flush");
    }
    let xml = format!(
        "<ossec_config><global><logall_json>yes</logall_json></global><indexer><enabled>yes</enabled>\
         <hosts><host>http://127.0.0.1:{port}</host></hosts><shipper><archives>yes</archives><template>none</template>\
         <flush_interval>10</flush_interval></shipper></indexer></ossec_config>"
    );
    let loaded = vigil::config::parse(&xml, Path::new("ossec.conf"));
    let consumers = Arc::new(vigil::output::consumers::Consumers::new(None));
    let stats = vigil::indexer::start(dir.path(), &loaded.config, &consumers).expect("start");
    assert_eq!(stats.iter().map(|s| s.stream).collect::<Vec<_>>(), ["alerts", "archives"]);
    wait("both shipped", Duration::from_secs(30), || stats.iter().all(|s| s.shipped.load(Ordering::Relaxed) == 10));
    let mut indices = seen.indices.lock().expect("lock").clone();
    indices.sort();
    indices.dedup();
    assert_eq!(indices, ["wazuh-alerts-4.x-2020.02.01", "wazuh-archives-4.x-2020.02.01"]);
    each_once(&seen, 20);
}
