//! The real server: the API over HTTPS with the home's certificate, beside the agent service.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use vigil::secmsg::Cipher;

use crate::common::agent::{Agent, Connection, KEEPALIVE, add_agent};
use crate::common::server::{free_port, replace_block, serve_prepared};

/// An agent on `port`: starts, sends a keepalive, takes the merged.mg push, then answers
/// requests (`ok` with an active-response configuration) and hands every other message to
/// `seen` until the test stops listening or the connection goes quiet.
fn simulate(port: u16, agent: &Agent, seen: &std::sync::mpsc::Sender<String>) {
    let mut connection = Connection::open(port, agent);
    connection.send(br#"#!-agent startup {"version":"v4.14.7"}"#);
    connection.receive();
    connection.send(KEEPALIVE.as_bytes());
    while let Some(message) = connection.receive() {
        let text = String::from_utf8_lossy(&message).into_owned();
        if let Some(request) = text.strip_prefix("#!-req ") {
            let counter = request.split(' ').next().unwrap_or_default();
            connection.send(format!("#!-req {counter} ok {{\"active-response\":{{\"disabled\":\"no\"}}}}").as_bytes());
        } else if (text.starts_with("#!-execd") || text.starts_with("#!-force_reconnect")) && seen.send(text).is_err() {
            return;
        }
    }
}

/// One HTTPS request to `127.0.0.1:port`, trusting the home's certificate.
async fn https(
    home: &std::path::Path,
    port: u16,
    method: &str,
    path: &str,
    auth: &str,
    body: Option<Value>,
) -> (u16, String) {
    let tls = vigil::tls::client_config(Some(&home.join("etc/sslmanager.cert")), None).expect("client config");
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    let stream = connector.connect(name, tcp).await.expect("TLS handshake");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("HTTP handshake");
    tokio::spawn(connection);
    let mut request =
        hyper::Request::builder().method(method).uri(path).header("host", "localhost").header("authorization", auth);
    let body = match body {
        Some(v) => {
            request = request.header("content-type", "application/json");
            Full::new(Bytes::from(v.to_string()))
        }
        None => Full::new(Bytes::new()),
    };
    let response = sender.send_request(request.body(body).expect("request")).await.expect("response");
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_api_speaks_https_and_reaches_the_agent_service() {
    let api_port = free_port();
    let mut live = None;
    let server = serve_prepared("API listening", |home, port, config| {
        crate::common::ok(home, &["agents", "add", "e2e-agent"]);
        live = Some(add_agent(home, "live-agent", Cipher::Aes));
        let remote =
            format!("<remote><connection>secure</connection><port>{port}</port><protocol>tcp</protocol></remote>");
        let config = replace_block(&config, "remote", &remote)
            .replace("<port>1515</port>", &format!("<port>{}</port>", free_port()));
        let api = format!("<api><port>{api_port}</port><max_request_per_minute>0</max_request_per_minute></api>");
        replace_block(&config, "api", &api)
    });
    let home = server.home().to_owned();
    let password = crate::harness::default_password(&home, "wazuh");
    use base64::Engine as _;
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("wazuh:{password}")));
    let (status, token) = https(&home, api_port, "POST", "/security/user/authenticate?raw=true", &basic, None).await;
    assert_eq!(status, 200, "{token}");
    let bearer = format!("Bearer {token}");
    let (status, agents) = https(&home, api_port, "GET", "/agents?q=id!%3D000", &bearer, None).await;
    assert_eq!(status, 200);
    let agents: Value = serde_json::from_str(&agents).expect("test value");
    assert_eq!(agents["data"]["affected_items"][0]["name"], "e2e-agent");
    let (_, status_body) = https(&home, api_port, "GET", "/manager/status", &bearer, None).await;
    let daemons: Value = serde_json::from_str(&status_body).expect("test value");
    assert_eq!(daemons["data"]["affected_items"][0]["wazuh-remoted"], "running");
    assert_eq!(daemons["data"]["affected_items"][0]["wazuh-analysisd"], "running");
    let (_, restart) = https(&home, api_port, "PUT", "/agents/restart?agents_list=001", &bearer, None).await;
    let restart: Value = serde_json::from_str(&restart).expect("test value");
    assert_eq!(restart["data"]["failed_items"][0]["error"]["code"], 1707, "{restart}");
    let ar = json!({"command": "not-a-command", "arguments": []});
    let (status, refused) = https(&home, api_port, "PUT", "/active-response?agents_list=001", &bearer, Some(ar)).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(serde_json::from_str::<Value>(&refused).expect("test value")["error"], 1652);
    let script = json!({"command": "!custom.sh", "arguments": ["-x"]});
    let (status, sent) = https(&home, api_port, "PUT", "/active-response?agents_list=001", &bearer, Some(script)).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&sent).expect("test value")["data"]["failed_items"][0]["error"]["code"],
        1707
    );
    let (_, metrics) = https(&home, api_port, "GET", "/metrics", &bearer, None).await;
    assert!(metrics.contains("vigil_remote_tcp_sessions"), "{metrics}");

    // A connected agent answers the API's configuration request and gets its commands.
    let agent = live.expect("the live agent");
    let (tx, messages) = std::sync::mpsc::channel();
    let remote_port = server.port;
    let agent_side = std::thread::spawn(move || simulate(remote_port, &agent, &tx));
    let mut active = false;
    for _ in 0..100 {
        let (_, body) = https(&home, api_port, "GET", "/agents?agents_list=002&select=status", &bearer, None).await;
        if body.contains("\"active\"") {
            active = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(active, "the agent became active");
    let (status, config) = https(&home, api_port, "GET", "/agents/002/config/com/active-response", &bearer, None).await;
    assert_eq!(status, 200, "{config}");
    assert_eq!(serde_json::from_str::<Value>(&config).unwrap_or_default()["data"]["active-response"]["disabled"], "no");
    let (_, sync) = https(&home, api_port, "GET", "/agents/002/group/is_sync", &bearer, None).await;
    assert!(
        serde_json::from_str::<Value>(&sync).unwrap_or_default()["data"]["affected_items"][0]["synced"].is_boolean()
    );
    let (status, _) = https(&home, api_port, "PUT", "/agents/002/restart", &bearer, None).await;
    assert_eq!(status, 200);
    let restart = messages.recv_timeout(Duration::from_secs(10)).expect("the restart");
    assert!(restart.starts_with("#!-execd {") && restart.contains("\"command\":\"restart-wazuh0\""), "{restart}");
    assert!(restart.ends_with(" - null (from_the_server) (no_rule_id)"), "{restart}");
    let script = json!({"command": "!custom.sh", "arguments": ["-x"]});
    https(&home, api_port, "PUT", "/active-response?agents_list=002", &bearer, Some(script)).await;
    let ar: Value = serde_json::from_str(
        messages.recv_timeout(Duration::from_secs(10)).expect("the AR").trim_start_matches("#!-execd "),
    )
    .expect("AR JSON");
    assert_eq!((ar["command"].as_str(), ar["parameters"]["extra_args"][0].as_str()), (Some("!custom.sh"), Some("-x")));
    https(&home, api_port, "PUT", "/agents/reconnect?agents_list=002", &bearer, None).await;
    assert_eq!(messages.recv_timeout(Duration::from_secs(10)).expect("the reconnect"), "#!-force_reconnect");
    drop(messages);
    let _ = agent_side.join();
    // Plain HTTP gets no answer from the HTTPS port.
    let mut plain = tokio::net::TcpStream::connect(("127.0.0.1", api_port)).await.expect("test value");
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    plain.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await.expect("test value");
    let mut buf = [0u8; 64];
    let read =
        tokio::time::timeout(Duration::from_secs(5), plain.read(&mut buf)).await.expect("closed in time").unwrap_or(0);
    assert!(!String::from_utf8_lossy(&buf[..read]).starts_with("HTTP/1.1 200"));
}
