//! Outbound HTTP(S) connections, shared by the indexer shipper and the integrations: HTTP/1.1
//! over TCP, or over rustls when the URL is https, each connection driven by a task of the
//! caller's tokio runtime.

use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

/// A request that got no answer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The host could not be reached.
    #[error("cannot connect to {host}: {reason}")]
    Connect {
        /// Which.
        host: String,
        /// Why.
        reason: String,
    },
    /// The TLS handshake failed (certificate, protocol).
    #[error("TLS with {host} failed: {reason}")]
    Tls {
        /// Which.
        host: String,
        /// Why.
        reason: String,
    },
    /// The exchange failed or took too long.
    #[error("request to {host} failed: {reason}")]
    Request {
        /// Which.
        host: String,
        /// Why.
        reason: String,
    },
    /// Every host is set aside.
    #[error("no indexer host is reachable")]
    AllDown,
}

/// Opens a connection to `host:port` (TLS with `tls` when it is `Some`; `Some(None)` is an
/// https URL with no TLS settings) and starts its driver. `name` names the peer in errors.
pub async fn connect(
    host: &str,
    port: u16,
    tls: Option<Option<&tokio_rustls::TlsConnector>>,
    name: &str,
) -> Result<SendRequest<Full<Bytes>>, HttpError> {
    let tcp = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| HttpError::Connect { host: name.to_owned(), reason: e.to_string() })?;
    let _ = tcp.set_nodelay(true);
    let Some(tls) = tls else {
        return handshake(tcp, name).await;
    };
    let Some(connector) = tls else {
        return Err(HttpError::Tls { host: name.to_owned(), reason: "no TLS settings for an https host".into() });
    };
    let tls_failed = |e: &dyn std::fmt::Display| HttpError::Tls { host: name.to_owned(), reason: e.to_string() };
    let server = rustls_pki_types::ServerName::try_from(host.to_owned()).map_err(|e| tls_failed(&e))?;
    let stream = connector.connect(server, tcp).await.map_err(|e| tls_failed(&e))?;
    handshake(stream, name).await
}

/// HTTP/1.1 over `io`, its connection driven by a task of the current runtime.
async fn handshake<IO>(io: IO, host: &str) -> Result<SendRequest<Full<Bytes>>, HttpError>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| HttpError::Request { host: host.to_owned(), reason: e.to_string() })?;
    tokio::spawn(connection);
    Ok(sender)
}

/// `Retry-After` in seconds (the HTTP-date form is not used by the services vigil talks to).
pub fn retry_after(headers: &hyper::HeaderMap) -> Option<Duration> {
    headers
        .get(hyper::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .map(Duration::from_secs)
}
