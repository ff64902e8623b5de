//! The enrollment service in a real `vigil serve`: `vigil enroll` over TLS, the store and
//! client.keys, and bad input that must be refused without harm to anyone else.

mod common;

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::server::{Running, log, replace_block, serve_prepared, wait_for};
use common::{agents_json, run, vigil};
use vigil::enroll::client::{self, Answer, Enrollment};

/// Enrollment against a running server.
trait Enroll {
    /// `vigil enroll -m 127.0.0.1 -p <port> <args>`: exit success, stdout, stderr.
    fn enroll(&self, args: &[&str]) -> (bool, String, String);
}

impl Enroll for Running {
    /// `vigil enroll -m 127.0.0.1 -p <port> <args>`: exit success, stdout, stderr.
    fn enroll(&self, args: &[&str]) -> (bool, String, String) {
        let out = vigil()
            .args(["enroll", "-m", "127.0.0.1", "-p", &self.port.to_string(), "--timeout", "10"])
            .args(args)
            .output()
            .expect("run vigil enroll");
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
    }
}

/// A server whose `<auth>` block holds `settings` on a free port.
fn serve(settings: &str) -> Running {
    serve_prepared("Enrollment service listening", |_, port, config| {
        replace_block(&config, "auth", &format!("<auth>\n<port>{port}</port>\n{settings}\n</auth>"))
    })
}

#[test]
fn agents_enroll_over_tls_and_are_stored_at_once() {
    let server = serve("<purge>yes</purge>");
    let (success, stdout, stderr) = server.enroll(&["-A", "web01", "-G", "default"]);
    assert!(success, "{stderr}");
    let fields: Vec<&str> = stdout.split_whitespace().collect();
    assert_eq!(fields[..3], ["001", "web01", "any"], "{stdout}");
    assert!(fields[3].len() == 64 && fields[3].bytes().all(|b| b.is_ascii_hexdigit()));

    // In the store before the answer was sent: no wait needed.
    let agents = agents_json(server.home());
    assert_eq!(agents.len(), 1);
    assert_eq!((agents[0]["name"].as_str(), agents[0]["status"].as_str()), (Some("web01"), Some("never_connected")));
    // client.keys follows within its batch window.
    let keys = server.home().join("etc/client.keys");
    wait_for("client.keys", Duration::from_secs(5), || std::fs::read_to_string(&keys).unwrap_or_default() == stdout);

    // Wazuh's refusals, answered and counted.
    let (success, _, stderr) = server.enroll(&["-A", "web01"]);
    assert!(!success);
    assert_eq!(stderr.trim(), "ERROR: Duplicate agent name: web01. Unable to add agent");
    let (_, _, stderr) = server.enroll(&["-A", "web02", "-G", "nope"]);
    assert_eq!(stderr.trim(), "ERROR: Invalid group: nope. Unable to add agent");
    let (_, _, stderr) = server.enroll(&["-A", "web02", "--agent-version", "v4.99.0"]);
    assert_eq!(stderr.trim(), "ERROR: Agent version must be lower or equal to manager version. Unable to add agent");
    let (success, stdout, _) = server.enroll(&["-A", "web02", "-I", "10.0.0.7"]);
    assert!(success && stdout.starts_with("002 web02 10.0.0.7 "), "{stdout}");
    let (_, _, stderr) = server.enroll(&["-A", "web03", "-I", "10.0.0.7"]);
    assert_eq!(stderr.trim(), "ERROR: Duplicate IP: 10.0.0.7. Unable to add agent");
    let (success, stdout, _) = server.enroll(&["-A", "web03", "-i"]);
    assert!(success && stdout.starts_with("003 web03 127.0.0.1 "), "{stdout}");
    assert_eq!(agents_json(server.home()).len(), 3);
    assert!(log(server.home()).contains("reason=refused"));
}

#[test]
fn a_held_key_is_replaced_only_when_force_allows() {
    let server = serve(
        "<force><enabled>yes</enabled><key_mismatch>yes</key_mismatch><disconnected_time enabled=\"no\">0</disconnected_time><after_registration_time>0</after_registration_time></force>",
    );
    let keys = server.scratch.dir.path().join("agent-client.keys");
    let keys_arg = keys.to_str().expect("utf-8 path");
    let (success, _, stderr) = server.enroll(&["-A", "db01", "--keys", keys_arg]);
    assert!(success, "{stderr}");
    let first = std::fs::read_to_string(&keys).expect("agent client.keys");
    assert!(first.starts_with("001 db01 any "));
    // The agent still holds the key the manager has: key_mismatch keeps it.
    let (success, _, stderr) = server.enroll(&["-A", "db01", "--keys", keys_arg]);
    assert!(!success);
    assert_eq!(stderr.trim(), "ERROR: Duplicate agent name: db01. Unable to add agent");
    // An agent that lost its key gets a new id; the old one is gone.
    std::fs::remove_file(&keys).expect("remove");
    let (success, _, stderr) = server.enroll(&["-A", "db01", "--keys", keys_arg]);
    assert!(success, "{stderr}");
    assert!(std::fs::read_to_string(&keys).expect("keys").starts_with("002 db01 any "));
    let ids: Vec<String> =
        agents_json(server.home()).iter().map(|a| a["id"].as_str().unwrap_or("").to_owned()).collect();
    assert_eq!(ids, ["002"]);
}

/// Bytes the server sends before it closes, or the error that ended the wait.
fn drain(mut stream: TcpStream, limit: Duration) -> Result<Vec<u8>, std::io::Error> {
    stream.set_read_timeout(Some(limit))?;
    let mut got = Vec::new();
    stream.read_to_end(&mut got)?;
    Ok(got)
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    Arc::new(vigil::tls::client_config(None, None).expect("client config"))
}

/// One TLS exchange with raw bytes: the answer, or why there was none.
fn raw_tls(port: u16, bytes: Vec<u8>, close_after: bool) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
        let name = rustls_pki_types::ServerName::try_from("127.0.0.1").expect("name");
        let mut tls = tokio_rustls::TlsConnector::from(tls_config()).connect(name, tcp).await.expect("handshake");
        // The server may close before everything is written: that is a refusal too.
        let _ = tls.write_all(&bytes).await;
        if close_after {
            let _ = tls.shutdown().await;
        }
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(15), tls.read_to_end(&mut answer)).await;
        match read {
            Ok(_) => String::from_utf8_lossy(&answer).into_owned(),
            Err(_) => "no answer".to_owned(),
        }
    })
}

#[test]
fn bad_input_is_refused_and_harms_no_one() {
    let server = serve("<request_timeout>2</request_timeout>");
    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), server.port);

    // Not TLS at all: the handshake fails and the connection is closed.
    let mut garbage = TcpStream::connect(addr).expect("connect");
    garbage.write_all(b"GET / HTTP/1.0\r\n\r\n").expect("write");
    let started = Instant::now();
    let _ = drain(garbage, Duration::from_secs(10));
    assert!(started.elapsed() < Duration::from_secs(5));

    // A handshake that never starts is cut at the request timeout.
    let stalled = TcpStream::connect(addr).expect("connect");
    let started = Instant::now();
    assert_eq!(drain(stalled, Duration::from_secs(10)).map(|b| b.len()).ok(), Some(0));
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1500) && waited < Duration::from_secs(6), "closed after {waited:?}");

    // A request without LF, then the client closes: no answer, nothing stored.
    assert_eq!(raw_tls(server.port, b"OSSEC A:'nolf'".to_vec(), true), "");
    // 1 MB without LF: refused once the size limit is passed.
    let answer = raw_tls(server.port, vec![b'A'; 1 << 20], false);
    assert!(answer.is_empty() || answer == "ERROR: Invalid request for new agent. Unable to add agent", "{answer}");
    // Invalid UTF-8, spaces and quotes in names.
    let answer = raw_tls(server.port, b"OSSEC A:'\xff\xfeab'\n".to_vec(), false);
    assert_eq!(answer, "ERROR: Invalid agent name: \u{fffd}\u{fffd}ab. Unable to add agent");
    let answer = raw_tls(server.port, b"OSSEC A:'web 01'\n".to_vec(), false);
    assert_eq!(answer, "ERROR: Invalid agent name: web 01. Unable to add agent");
    // A quote ends the name, as in authd: what follows is ignored.
    let answer = raw_tls(server.port, b"OSSEC A:'we'b'\n".to_vec(), false);
    assert!(answer.starts_with("OSSEC K:'001 we any "), "{answer}");

    assert_eq!(agents_json(server.home()).len(), 1, "only the well-formed request enrolled");
    let text = log(server.home());
    for reason in ["handshake_failed", "timed_out", "no_newline", "too_large", "refused"] {
        assert!(text.contains(&format!("reason={reason}")), "no {reason} line in\n{text}");
    }
    // Still serving.
    let (success, _, stderr) = server.enroll(&["-A", "after01"]);
    assert!(success, "{stderr}");
}

#[test]
fn ten_thousand_connections_at_once_do_not_shut_out_another_agent() {
    let server = serve("");
    let wanted = 10_000;
    let limit = vigil::server::raise_open_files(wanted + 200);
    let count = (limit.saturating_sub(200) as usize).min(wanted as usize);
    assert!(count >= 1000, "open-file limit {limit} is too low for this test");
    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), server.port);
    let mut flood = Vec::with_capacity(count);
    for _ in 0..count {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
            Ok(stream) => flood.push(stream),
            // A full accept queue refuses some: that is a refusal too.
            Err(_) => continue,
        }
    }
    assert!(flood.len() > count / 2, "only {} of {count} connections were made", flood.len());

    // Another address is served at once, while the flood holds its connections open.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let started = Instant::now();
    let answer = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), 0)).expect("bind 127.0.0.2");
        let tcp = socket.connect(addr).await.expect("connect from 127.0.0.2");
        let request = Enrollment { name: "calm01".into(), ..Enrollment::default() };
        client::enroll_on(tcp, tls_config(), "127.0.0.1", &request, Duration::from_secs(10)).await
    });
    assert!(matches!(answer, Ok(Answer::Key(_))), "{answer:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    drop(flood);

    let text = log(server.home());
    assert!(text.contains("reason=rate_limited") || text.contains("reason=busy_address"), "{text}");
    assert!(text.contains("this second are only counted"), "refusal lines are throttled");
    let listed = run(server.home(), &["agents", "list", "--json"]);
    assert!(listed.status.success());
    assert_eq!(agents_json(server.home()).len(), 1);
}
