//! The HTTP(S) client of one integration: requests to any URL, connections kept alive and
//! reused per origin, a deadline per request (`<timeout>`), and the answer sorted into an
//! [`Outcome`]: done, try again (408, 429 with its `Retry-After`, 5xx, no answer) or refused
//! for good (any other status).

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;

use super::Outcome;
use crate::web::HttpError;

/// Where https endpoints' certificates are checked when no `<ca_file>` is set (Debian's
/// ca-certificates bundle).
pub const SYSTEM_CAS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Idle connections kept per origin.
const KEEP_IDLE: usize = 32;

/// Longest answer body read (a service's answer is small; an HTML error page is cut).
const MAX_BODY: usize = 1 << 20;

/// A request.
#[derive(Debug, Clone)]
pub struct Call {
    /// `GET`, `POST`, `PATCH`, `PUT`.
    pub method: hyper::Method,
    /// The full URL.
    pub url: String,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// The body (JSON for every service here).
    pub body: Bytes,
}

impl Call {
    /// A JSON `POST` of `body` to `url`.
    pub fn post_json(url: &str, body: &serde_json::Value) -> Self {
        Self {
            method: hyper::Method::POST,
            url: url.to_owned(),
            headers: vec![("content-type", "application/json".into())],
            body: Bytes::from(body.to_string()),
        }
    }

    /// The same call with `header` added.
    pub fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// An answer.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Body (at most [`MAX_BODY`]).
    pub body: Bytes,
    /// `Retry-After`.
    pub retry_after: Option<Duration>,
}

impl Answer {
    /// The body as JSON, when it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The start of the body, printable, for a log line.
    pub fn excerpt(&self) -> String {
        excerpt(&self.body)
    }
}

/// The start of `body` on one line, for a log line (an HTML page or hostile text cannot break
/// the log's lines).
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// A parsed endpoint URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// https.
    pub tls: bool,
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Path and query (at least `/`).
    pub path: String,
}

impl Endpoint {
    /// Parses `http[s]://host[:port][/path][?query]`.
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: hyper::Uri = url.parse().map_err(|e| format!("invalid URL '{url}': {e}"))?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("invalid URL '{url}': http or https only")),
        };
        let host = uri.host().ok_or_else(|| format!("invalid URL '{url}': no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        Ok(Self { tls, host, port, path })
    }

    /// `scheme://host:port`, the key of its connections.
    fn origin(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// The client (one per integration, used from its worker thread only).
pub struct Http {
    tls: Option<tokio_rustls::TlsConnector>,
    tls_problem: Option<String>,
    timeout: Duration,
    idle: RefCell<HashMap<String, Vec<SendRequest<Full<Bytes>>>>>,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http").field("timeout", &self.timeout).field("tls", &self.tls.is_some()).finish()
    }
}

impl Http {
    /// A client whose https peers are checked against `ca_file` (the system bundle when none);
    /// when that cannot be read, https requests fail with the reason and http ones work.
    pub fn new(ca_file: Option<&Path>, timeout: Duration) -> Self {
        let cas = ca_file.unwrap_or(Path::new(SYSTEM_CAS));
        let (tls, tls_problem) = match crate::tls::verifying_client_config(&[cas], None) {
            Ok(config) => (Some(tokio_rustls::TlsConnector::from(Arc::new(config))), None),
            Err(e) => (None, Some(format!("no CA bundle for https ({}): {e}", cas.display()))),
        };
        Self { tls, tls_problem, timeout, idle: RefCell::new(HashMap::new()) }
    }

    /// Sends `call`, within the client's timeout.
    pub async fn send(&self, call: &Call) -> Result<Answer, HttpError> {
        let endpoint =
            Endpoint::parse(&call.url).map_err(|reason| HttpError::Request { host: "the service".into(), reason })?;
        let name = endpoint.origin();
        match tokio::time::timeout(self.timeout, self.exchange(&endpoint, &name, call)).await {
            Ok(answer) => answer,
            Err(_) => Err(HttpError::Request {
                host: name,
                reason: format!("no answer within {} s", self.timeout.as_secs_f32()),
            }),
        }
    }

    /// One exchange on a kept connection, or on a new one (also when the kept one turns out
    /// closed by the peer).
    async fn exchange(&self, endpoint: &Endpoint, name: &str, call: &Call) -> Result<Answer, HttpError> {
        if let Some(kept) = self.take_idle(name)
            && let Ok(answer) = self.once(kept, endpoint, name, call).await
        {
            return Ok(answer);
        }
        if endpoint.tls && self.tls.is_none() {
            let reason = self.tls_problem.clone().unwrap_or_default();
            return Err(HttpError::Tls { host: name.to_owned(), reason });
        }
        let tls = endpoint.tls.then_some(self.tls.as_ref());
        let fresh = crate::web::connect(&endpoint.host, endpoint.port, tls, name).await?;
        self.once(fresh, endpoint, name, call).await
    }

    fn take_idle(&self, name: &str) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.borrow_mut();
        let list = idle.get_mut(name)?;
        while let Some(c) = list.pop() {
            if !c.is_closed() {
                return Some(c);
            }
        }
        None
    }

    async fn once(
        &self,
        mut sender: SendRequest<Full<Bytes>>,
        endpoint: &Endpoint,
        name: &str,
        call: &Call,
    ) -> Result<Answer, HttpError> {
        let failed = |e: &dyn std::fmt::Display| HttpError::Request { host: name.to_owned(), reason: e.to_string() };
        sender.ready().await.map_err(|e| failed(&e))?;
        let authority = name.split_once("://").map_or(name, |(_, a)| a);
        let mut builder = hyper::Request::builder()
            .method(call.method.clone())
            .uri(endpoint.path.as_str())
            .header(hyper::header::HOST, authority)
            .header(hyper::header::USER_AGENT, concat!("vigil/", env!("CARGO_PKG_VERSION")));
        for (header, value) in &call.headers {
            builder = builder.header(*header, value.as_str());
        }
        let request = builder.body(Full::new(call.body.clone())).map_err(|e| failed(&e))?;
        let response = sender.send_request(request).await.map_err(|e| failed(&e))?;
        let status = response.status().as_u16();
        let retry_after = crate::web::retry_after(response.headers());
        let limited = http_body_util::Limited::new(response.into_body(), MAX_BODY);
        let body = limited.collect().await.map_err(|e| failed(&e))?.to_bytes();
        let mut idle = self.idle.borrow_mut();
        let list = idle.entry(name.to_owned()).or_default();
        if list.len() < KEEP_IDLE {
            list.push(sender);
        }
        Ok(Answer { status, body, retry_after })
    }
}

/// How an exchange with a service ends, by Wazuh-free HTTP rules: 2xx done; 408, 429 and 5xx
/// tried again (after `Retry-After` when given); no answer tried again; any other status
/// refused for good.
pub fn outcome(result: Result<Answer, HttpError>) -> Outcome {
    match result {
        Ok(a) if (200..300).contains(&a.status) => Outcome::Done,
        Ok(a) if a.status == 408 || a.status == 429 || a.status >= 500 => Outcome::Retry {
            reason: format!("HTTP {}: {}", a.status, a.excerpt()),
            after: a.retry_after,
            counts: a.status != 429,
        },
        Ok(a) => Outcome::Failed(format!("HTTP {}: {}", a.status, a.excerpt())),
        Err(e) => Outcome::Retry { reason: e.to_string(), after: None, counts: false },
    }
}

/// Basic authentication from `user:password`, or a bearer token from anything else.
pub fn authorization(credential: &str) -> String {
    use base64::Engine as _;
    match credential.split_once(':') {
        Some(_) => format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credential)),
        None => format!("Bearer {credential}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_outcomes() {
        let e = Endpoint::parse("https://hooks.slack.com/services/T0/B0/x?y=1").expect("url");
        assert_eq!(
            (e.tls, e.host.as_str(), e.port, e.path.as_str()),
            (true, "hooks.slack.com", 443, "/services/T0/B0/x?y=1")
        );
        let e = Endpoint::parse("http://[::1]:8080").expect("url");
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str(), e.origin().as_str()),
            ("::1", 8080, "/", "http://[::1]:8080")
        );
        assert!(Endpoint::parse("ftp://x/").is_err());
        assert!(Endpoint::parse("not a url").is_err());

        let answer =
            |status, retry| Ok(Answer { status, body: Bytes::from_static(b"<html>\n</html>"), retry_after: retry });
        assert_eq!(outcome(answer(200, None)), Outcome::Done);
        let wait = Some(Duration::from_secs(7));
        assert!(matches!(outcome(answer(429, wait)), Outcome::Retry { after, .. } if after == wait));
        assert!(matches!(outcome(answer(503, None)), Outcome::Retry { .. }));
        assert_eq!(outcome(answer(404, None)), Outcome::Failed("HTTP 404: <html> </html>".into()), "one line");
        assert_eq!(authorization("a:b"), "Basic YTpi");
        assert_eq!(authorization("tok"), "Bearer tok");
    }
}
