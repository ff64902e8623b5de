//! The TLS listener: admit, handshake, read one line, answer, close — every step bounded in
//! time and size, every refusal counted.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

use super::cert;
use super::commit::Committer;
use super::error::EnrollError;
use super::limits::{Gate, Limits, Turned};
use super::password::Password;
use super::request::{self, Expect};
use super::stats::{Counters, Outcome};
use crate::store::AgentIp;

/// What every connection needs.
pub(super) struct Shared {
    pub acceptor: TlsAcceptor,
    pub gate: Arc<Gate>,
    pub limits: Limits,
    pub counters: Arc<Counters>,
    pub committer: Committer,
    pub password: Option<Password>,
    pub allow_higher_versions: bool,
    pub verify_host: bool,
}

/// Accepts until the task is dropped.
pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors or memory: wait instead of spinning.
                warn!("Enrollment accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let ip = crate::store::agent::unmapped(peer.ip());
        match shared.gate.admit(ip, Instant::now()) {
            Ok(ticket) => {
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    connection(tcp, ip, &shared).await;
                    drop(ticket);
                });
            }
            Err(turned) => {
                let (outcome, detail) = match turned {
                    Turned::Busy => (Outcome::Busy, "too many connections being served"),
                    Turned::BusyAddress => (Outcome::BusyAddress, "too many connections from this address"),
                    Turned::RateLimited => (Outcome::RateLimited, "connecting faster than the rate limit"),
                };
                shared.counters.refuse(outcome, ip, detail);
            }
        }
    }
}

async fn connection(tcp: TcpStream, ip: IpAddr, shared: &Shared) {
    let limit = shared.limits.timeout;
    if tokio::time::timeout(limit, session(tcp, ip, shared)).await.is_err() {
        shared.counters.refuse(Outcome::TimedOut, ip, &format!("no complete request within {} s", limit.as_secs_f32()));
    }
}

async fn session(tcp: TcpStream, ip: IpAddr, shared: &Shared) {
    let counters = &shared.counters;
    // Small answers must leave at once.
    let _ = tcp.set_nodelay(true);
    let mut tls = match shared.acceptor.accept(tcp).await {
        Ok(tls) => tls,
        Err(e) => return counters.refuse(Outcome::HandshakeFailed, ip, &format!("TLS handshake failed: {e}")),
    };
    let host = AgentIp::from_source(ip).to_string();
    if shared.verify_host {
        let certificate = tls.get_ref().1.peer_certificates().and_then(<[_]>::first);
        if !certificate.is_some_and(|c| cert::names_host(c, &host)) {
            let detail = format!("Unable to verify client certificate: it does not name {host}");
            return counters.refuse(Outcome::BadCertificate, ip, &detail);
        }
    }
    let line = match read_line(&mut tls, shared.limits.max_request).await {
        Line::Complete(line) => line,
        Line::TooLarge => {
            let detail = format!("request longer than {} bytes without a newline", shared.limits.max_request);
            counters.refuse(Outcome::TooLarge, ip, &detail);
            return answer(&mut tls, &EnrollError::InvalidRequest.reply()).await;
        }
        Line::Closed(why) => {
            return counters.refuse(
                Outcome::NoNewline,
                ip,
                &format!("Newline terminator not found in message request ({why})"),
            );
        }
    };
    let expect = Expect { password: shared.password.as_ref(), allow_higher_versions: shared.allow_higher_versions };
    let reply = match request::parse(&line, &expect) {
        Err(e) => {
            counters.refuse(Outcome::Refused, ip, &e.to_string());
            e.reply()
        }
        Ok(request) => {
            let name = request.name.clone();
            info!("Received request for a new agent ({name}) from: {host}");
            match shared.committer.submit(request, ip).await {
                Ok(enrolled) => {
                    counters.count(Outcome::Enrolled);
                    info!("Agent key generated for '{name}' (requested by {host})");
                    let a = &enrolled.agent;
                    format!("OSSEC K:'{} {} {} {}'", a.id, a.name, a.ip, a.key.expose())
                }
                Err(e) => {
                    let outcome =
                        if matches!(e, EnrollError::Internal(_)) { Outcome::Internal } else { Outcome::Refused };
                    counters.refuse(outcome, ip, &e.to_string());
                    e.reply()
                }
            }
        }
    };
    answer(&mut tls, &reply).await;
}

/// Sends the answer and closes; a peer that is gone already is not an error worth a line.
async fn answer<S: AsyncWrite + Unpin>(stream: &mut S, text: &str) {
    if stream.write_all(text.as_bytes()).await.is_ok() {
        let _ = stream.shutdown().await;
    }
}

/// What reading a request gave.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// Everything before the first LF.
    Complete(Vec<u8>),
    /// More than the limit arrived without a LF.
    TooLarge,
    /// The peer closed or failed first.
    Closed(String),
}

/// Reads up to the first LF, at most `max` bytes.
async fn read_line<S: AsyncRead + Unpin>(stream: &mut S, max: usize) -> Line {
    let mut line = Vec::with_capacity(256);
    let mut chunk = [0u8; 4096];
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(0) => return Line::Closed("closed".to_owned()),
            Ok(n) => n,
            Err(e) => return Line::Closed(e.to_string()),
        };
        let start = line.len();
        line.extend_from_slice(&chunk[..n]);
        if let Some(lf) = memchr::memchr(b'\n', &line[start..]) {
            line.truncate(start + lf);
            return Line::Complete(line);
        }
        if line.len() > max {
            return Line::TooLarge;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(input: &[u8], max: usize) -> Line {
        let mut input = input;
        read_line(&mut input, max).await
    }

    #[tokio::test]
    async fn lines_end_at_the_first_newline_within_the_limit() {
        assert_eq!(read(b"OSSEC A:'a1'\nrest", 100).await, Line::Complete(b"OSSEC A:'a1'".to_vec()));
        assert_eq!(read(b"OSSEC A:'a1'", 100).await, Line::Closed("closed".into()));
        assert_eq!(read(&[b'x'; 10_000], 5000).await, Line::TooLarge);
        let mut long = vec![b'x'; 4000];
        long.push(b'\n');
        assert_eq!(read(&long, 5000).await, Line::Complete(vec![b'x'; 4000]));
    }
}
