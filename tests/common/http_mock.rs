//! A real HTTP/1.1 server on 127.0.0.1 for tests: it records every request and answers what
//! the test's responder says (a service's validation, a 429 with `Retry-After`, a hang).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers, names lowercase.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    /// The body as JSON (`Null` when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// What to answer: status, headers, body; and a delay before answering.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    pub delay: Duration,
}

impl Reply {
    pub fn new(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }
}

/// Decides the reply to a request (given every request received so far, this one last).
pub type Responder = Arc<dyn Fn(&Received, &[Received]) -> Reply + Send + Sync>;

/// The running server (stopped when dropped).
pub struct Mock {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
    _runtime: tokio::runtime::Runtime,
}

impl Mock {
    pub fn start(respond: Responder) -> Self {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (log, respond) = (Arc::clone(&log), Arc::clone(&respond));
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                        let (log, respond) = (Arc::clone(&log), Arc::clone(&respond));
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = body.collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
                            let headers = parts
                                .headers
                                .iter()
                                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                                .collect();
                            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
                            let got = Received { method: parts.method.to_string(), path, headers, body };
                            let reply = {
                                let mut all = log.lock().expect("lock");
                                all.push(got.clone());
                                respond(&got, &all)
                            };
                            tokio::time::sleep(reply.delay).await;
                            let mut response = hyper::Response::builder().status(reply.status);
                            for (k, v) in &reply.headers {
                                response = response.header(*k, v.as_str());
                            }
                            Ok::<_, Infallible>(response.body(Full::new(Bytes::from(reply.body))).expect("response"))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { port, received, _runtime: runtime }
    }

    /// Requests received so far whose path starts with `prefix`.
    pub fn requests(&self, prefix: &str) -> Vec<Received> {
        self.received.lock().expect("lock").iter().filter(|r| r.path.starts_with(prefix)).cloned().collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}
