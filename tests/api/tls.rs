//! The real server: the API over HTTPS with the home's certificate, beside the agent service.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::common::server::{free_port, replace_block, serve_prepared};

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
    let server = serve_prepared("API listening", |home, port, config| {
        crate::common::ok(home, &["agents", "add", "e2e-agent"]);
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
    // Plain HTTP gets no answer from the HTTPS port.
    let mut plain = tokio::net::TcpStream::connect(("127.0.0.1", api_port)).await.expect("test value");
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    plain.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await.expect("test value");
    let mut buf = [0u8; 64];
    let read =
        tokio::time::timeout(Duration::from_secs(5), plain.read(&mut buf)).await.expect("closed in time").unwrap_or(0);
    assert!(!String::from_utf8_lossy(&buf[..read]).starts_with("HTTP/1.1 200"));
}
