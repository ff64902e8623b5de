//! The indexer's HTTP(S) client: one kept-alive connection per host, requests spread
//! round-robin over the hosts that answer, a host that fails set aside for a while (doubling
//! each time) and the next one tried, as Filebeat's Elasticsearch output does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;

/// How long one request may take, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest a failed host is set aside.
const MAX_SET_ASIDE: Duration = Duration::from_secs(30);

pub use crate::web::HttpError;

/// A host URL as `<hosts><host>` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `https`.
    pub tls: bool,
    /// Name or address.
    pub host: String,
    /// Port (9200 when absent).
    pub port: u16,
}

impl Url {
    /// Parses `http[s]://host[:port][/]`; a bare `host[:port]` is https, as Wazuh's default.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (tls, rest) = match text.split_once("://") {
            Some(("https", rest)) => (true, rest),
            Some(("http", rest)) => (false, rest),
            Some((scheme, _)) => return Err(format!("unsupported scheme {scheme:?} in {text:?}")),
            None => (true, text),
        };
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') || rest.is_empty() {
            return Err(format!("{text:?} is not scheme://host[:port]"));
        }
        let (host, port) = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
            Some((h, tail)) => (h, tail.strip_prefix(':')),
            None => match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            },
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| format!("bad port in {text:?}"))?,
            None => 9200,
        };
        Ok(Self { tls, host: host.to_owned(), port })
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// One host and how it has been answering.
#[derive(Debug)]
struct Host {
    url: Url,
    connection: Option<SendRequest<Full<Bytes>>>,
    failures: u32,
    set_aside_until: Option<Instant>,
}

/// An answer.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub body: Bytes,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<Duration>,
    /// Which host answered.
    pub host: usize,
}

/// A request.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// `GET`, `PUT`, `POST`, `HEAD`.
    pub method: hyper::Method,
    /// Path and query.
    pub path: &'a str,
    /// Body (already compressed when `gzip`).
    pub body: Bytes,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body is gzip-compressed.
    pub gzip: bool,
}

/// The client.
pub struct Client {
    runtime: tokio::runtime::Runtime,
    hosts: Vec<Host>,
    next: usize,
    tls: Option<tokio_rustls::TlsConnector>,
    authorization: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("hosts", &self.hosts).field("tls", &self.tls.is_some()).finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `hosts`, with TLS settings for https ones and basic-auth credentials.
    pub fn new(
        hosts: Vec<Url>,
        tls: Option<rustls::ClientConfig>,
        credentials: Option<(&str, &str)>,
    ) -> std::io::Result<Self> {
        use base64::Engine as _;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let authorization = credentials.map(|(user, password)| {
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
        });
        Ok(Self {
            runtime,
            hosts: hosts
                .into_iter()
                .map(|url| Host { url, connection: None, failures: 0, set_aside_until: None })
                .collect(),
            next: 0,
            tls: tls.map(|c| tokio_rustls::TlsConnector::from(Arc::new(c))),
            authorization,
        })
    }

    /// Each host and whether it is answering.
    pub fn health(&self) -> Vec<(String, bool)> {
        self.hosts.iter().map(|h| (h.url.to_string(), h.failures == 0)).collect()
    }

    /// Sends `request` to the next host that answers; a host that cannot be reached is set aside
    /// and the next tried. An HTTP error status is an answer, not a failure.
    pub fn send(&mut self, request: &Request<'_>) -> Result<Reply, HttpError> {
        let now = Instant::now();
        let mut last = None;
        for _ in 0..self.hosts.len() {
            let i = self.next;
            self.next = (self.next + 1) % self.hosts.len();
            if self.hosts[i].set_aside_until.is_some_and(|until| until > now) {
                continue;
            }
            let exchanged = exchange(&mut self.hosts[i], self.tls.as_ref(), self.authorization.as_deref(), request);
            // The timer needs the runtime: it is made inside it.
            let result = self.runtime.block_on(async { tokio::time::timeout(REQUEST_TIMEOUT, exchanged).await });
            let host = &mut self.hosts[i];
            let outcome = result
                .unwrap_or_else(|_| Err(HttpError::Request { host: host.url.to_string(), reason: "timed out".into() }));
            match outcome {
                Ok((status, body, retry_after)) => {
                    host.failures = 0;
                    host.set_aside_until = None;
                    return Ok(Reply { status, body, retry_after, host: i });
                }
                Err(e) => {
                    host.connection = None;
                    host.failures += 1;
                    let wait = Duration::from_millis(250 << host.failures.min(7)).min(MAX_SET_ASIDE);
                    host.set_aside_until = Some(Instant::now() + wait);
                    tracing::warn!(stage = "indexer", host = %host.url, "{e}; trying another host");
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or(HttpError::AllDown))
    }
}

/// One exchange with `host`, opening its connection when needed.
async fn exchange(
    host: &mut Host,
    tls: Option<&tokio_rustls::TlsConnector>,
    authorization: Option<&str>,
    request: &Request<'_>,
) -> Result<(u16, Bytes, Option<Duration>), HttpError> {
    let reused = host.connection.as_ref().is_some_and(|c| !c.is_closed());
    match send_once(host, tls, authorization, request).await {
        // A kept-alive connection the server closed while idle: once more on a new one.
        Err(_) if reused => {
            host.connection = None;
            send_once(host, tls, authorization, request).await
        }
        answer => answer,
    }
}

/// One exchange on the host's connection (opened when there is none).
async fn send_once(
    host: &mut Host,
    tls: Option<&tokio_rustls::TlsConnector>,
    authorization: Option<&str>,
    request: &Request<'_>,
) -> Result<(u16, Bytes, Option<Duration>), HttpError> {
    let name = host.url.to_string();
    let failed = |reason: String| HttpError::Request { host: name.clone(), reason };
    if host.connection.as_ref().is_none_or(|c| c.is_closed()) {
        host.connection =
            Some(crate::web::connect(&host.url.host, host.url.port, host.url.tls.then_some(tls), &name).await?);
    }
    let Some(sender) = host.connection.as_mut() else { return Err(failed("no connection".into())) };
    sender.ready().await.map_err(|e| failed(e.to_string()))?;
    // The authority part of the URL (IPv6 addresses in brackets).
    let authority = name.split_once("://").map_or(name.as_str(), |(_, a)| a);
    let mut builder = hyper::Request::builder()
        .method(request.method.clone())
        .uri(request.path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::CONTENT_TYPE, request.content_type)
        .header(hyper::header::ACCEPT_ENCODING, "identity");
    if request.gzip {
        builder = builder.header(hyper::header::CONTENT_ENCODING, "gzip");
    }
    if let Some(auth) = authorization {
        builder = builder.header(hyper::header::AUTHORIZATION, auth);
    }
    let req = builder.body(Full::new(request.body.clone())).map_err(|e| failed(e.to_string()))?;
    let response = sender.send_request(req).await.map_err(|e| failed(e.to_string()))?;
    let status = response.status().as_u16();
    let retry_after = crate::web::retry_after(response.headers());
    let body = response.into_body().collect().await.map_err(|e| failed(e.to_string()))?.to_bytes();
    Ok((status, body, retry_after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_urls() {
        let u = Url::parse("https://10.0.0.1:9200").expect("url");
        assert_eq!((u.tls, u.host.as_str(), u.port), (true, "10.0.0.1", 9200));
        let u = Url::parse("http://localhost/").expect("url");
        assert_eq!((u.tls, u.host.as_str(), u.port), (false, "localhost", 9200));
        let u = Url::parse("indexer.example:9201").expect("url");
        assert_eq!((u.tls, u.port), (true, 9201));
        let u = Url::parse("http://[::1]:9200").expect("url");
        assert_eq!((u.host.as_str(), u.port), ("::1", 9200));
        assert_eq!(u.to_string(), "http://[::1]:9200");
        assert!(Url::parse("ftp://x").is_err());
        assert!(Url::parse("http://x/path").is_err());
        assert!(Url::parse("http://x:port").is_err());
    }
}
