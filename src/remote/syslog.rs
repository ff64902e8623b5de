//! The remote syslog listener (`<remote><connection>syslog</connection>`, remoted's syslog.c and
//! syslogtcp.c): devices send plain syslog lines over UDP (one per datagram) or TCP (one per
//! LF); a source must be in `<allowed-ips>` and not in `<denied-ips>`; each line, its `<PRI>`
//! header removed, enters the engine as `2:<source address>:<line>` on the core that read it.

use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use compio::BufResult;
use compio::io::AsyncRead as _;
use compio::net::{TcpListener, TcpStream, UdpSocket};
use tracing::{debug, warn};

use super::core::Core;
use super::stats::Counter;
use crate::logging::throttle::Throttle;
use crate::ruleset::rule::ip::{IpEntry, IpError, found_in};

/// The longest line (`OS_MAXSTR`); a TCP sender that exceeds it is disconnected.
pub const MAX_LINE: usize = 65536;

/// Time a TCP sender may stay silent before it is disconnected.
const IDLE: Duration = Duration::from_secs(900);

/// Who may send syslog.
#[derive(Debug, Clone, Default)]
pub struct Access {
    allowed: Vec<IpEntry>,
    denied: Vec<IpEntry>,
}

impl Access {
    /// The lists of `<allowed-ips>` and `<denied-ips>`.
    pub fn new(allowed: &[String], denied: &[String]) -> Result<Self, IpError> {
        let parse = |list: &[String]| list.iter().map(|ip| IpEntry::parse(ip)).collect::<Result<Vec<_>, _>>();
        Ok(Self { allowed: parse(allowed)?, denied: parse(denied)? })
    }

    /// Whether no source is allowed (remoted then does not start the listener).
    pub fn is_closed(&self) -> bool {
        self.allowed.is_empty()
    }

    /// Denied first, then allowed; any other source is refused (remoted's `OS_IPNotAllowed`).
    pub fn permits(&self, source: IpAddr) -> bool {
        let text = crate::store::AgentIp::from_source(source).as_str().to_owned();
        !found_in(&text, &self.denied) && found_in(&text, &self.allowed)
    }
}

/// The syslog counters.
#[derive(Debug, Default)]
pub struct SyslogStats {
    /// Lines sent to the engine.
    pub events: Counter,
    /// Datagrams and connections refused by the access lists.
    pub denied: Counter,
    /// TCP senders cut for a line longer than [`MAX_LINE`].
    pub too_long: Counter,
    /// Refusals' log lines.
    denied_lines: Throttle,
}

/// A line without its `<PRI>` header (remoted's `w_get_pri_header_len`).
pub fn strip_pri(line: &[u8]) -> &[u8] {
    if line.first() == Some(&b'<')
        && let Some(end) = memchr::memchr(b'>', &line[1..])
    {
        return &line[end + 2..];
    }
    line
}

/// What the engine reads for `line` from `source`.
pub fn message(source: IpAddr, line: &[u8]) -> Vec<u8> {
    let location = crate::store::AgentIp::from_source(source).as_str().replace(':', "|:");
    let line = strip_pri(line);
    let mut message = Vec::with_capacity(3 + location.len() + line.len());
    message.extend_from_slice(b"2:");
    message.extend_from_slice(location.as_bytes());
    message.push(b':');
    message.extend_from_slice(line);
    message
}

/// A datagram's line: one trailing LF is not part of it.
pub fn datagram_line(datagram: &[u8]) -> &[u8] {
    datagram.strip_suffix(b"\n").unwrap_or(datagram)
}

/// Bytes of a TCP stream cut into lines at each LF.
#[derive(Debug, Default)]
pub struct Lines {
    buffer: Vec<u8>,
}

/// A line longer than [`MAX_LINE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("syslog line longer than {MAX_LINE} bytes")]
pub struct TooLong;

impl Lines {
    /// Adds `bytes`; returns the lines they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, TooLong> {
        self.buffer.extend_from_slice(bytes);
        let mut lines = Vec::new();
        let mut start = 0;
        while let Some(end) = memchr::memchr(b'\n', &self.buffer[start..]) {
            lines.push(self.buffer[start..start + end].to_vec());
            start += end + 1;
        }
        self.buffer.drain(..start);
        if self.buffer.len() > MAX_LINE {
            return Err(TooLong);
        }
        Ok(lines)
    }
}

fn refused(core: &Core, source: IpAddr) {
    let syslog = &core.stats.syslog;
    syslog.denied.inc();
    if let Some(suffix) = syslog.denied_lines.allow().suffix() {
        warn!(%source, "(1213): Message from '{source}' not allowed. Cannot find the ID of the agent.{suffix}");
    }
}

/// Reads datagrams on this core's syslog socket.
pub async fn serve_udp(socket: std::net::UdpSocket, core: Rc<Core>, access: Rc<Access>) {
    let socket = match UdpSocket::from_std(socket) {
        Ok(socket) => socket,
        Err(e) => return warn!("cannot listen for syslog over UDP: {e}"),
    };
    let mut buf = Vec::with_capacity(MAX_LINE + 1);
    loop {
        buf.clear();
        let BufResult(received, returned) = socket.recv_from(buf).await;
        buf = returned;
        let source = match received {
            Ok((0, _)) => continue,
            Ok((_, source)) => source.ip(),
            Err(e) => {
                debug!("syslog receive failed: {e}");
                continue;
            }
        };
        if !access.permits(source) {
            refused(&core, source);
            continue;
        }
        core.stats.syslog.events.inc();
        core.sink.handle(&message(source, datagram_line(&buf)));
    }
}

/// Accepts syslog senders on this core's TCP listener.
pub async fn serve_tcp(listener: std::net::TcpListener, core: Rc<Core>, access: Rc<Access>) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => return warn!("cannot listen for syslog over TCP: {e}"),
    };
    loop {
        let (stream, peer) = super::service::accept(&listener, "syslog").await;
        if access.permits(peer.ip()) {
            compio::runtime::spawn(serve_sender(stream, peer, Rc::clone(&core))).detach();
        } else {
            refused(&core, peer.ip());
        }
    }
}

async fn serve_sender(mut stream: TcpStream, peer: SocketAddr, core: Rc<Core>) {
    let mut lines = Lines::default();
    let mut buf = Vec::with_capacity(8192);
    loop {
        buf.clear();
        let Ok(BufResult(read, returned)) = compio::time::timeout(IDLE, stream.read(buf)).await else {
            return debug!(%peer, "syslog sender idle; disconnected");
        };
        buf = returned;
        let n = match read {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) => return debug!(%peer, "syslog read failed: {e}"),
        };
        let complete = match lines.push(&buf[..n]) {
            Ok(complete) => complete,
            Err(e) => {
                core.stats.syslog.too_long.inc();
                return warn!(%peer, "syslog sender disconnected: {e}");
            }
        };
        if !complete.is_empty() {
            let messages: Vec<Vec<u8>> = complete.iter().map(|line| message(peer.ip(), line)).collect();
            core.stats.syslog.events.add(messages.len() as u64);
            core.sink.handle_all(&messages);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_lose_their_pri_and_carry_their_source() {
        let v4 = IpAddr::from([192, 0, 2, 7]);
        assert_eq!(message(v4, b"<13>Nov 27 host sshd: x"), b"2:192.0.2.7:Nov 27 host sshd: x");
        assert_eq!(message(v4, b"<13 no end"), b"2:192.0.2.7:<13 no end");
        assert_eq!(message(v4, b"plain"), b"2:192.0.2.7:plain");
        let v6: IpAddr = "2001:db8::1".parse().unwrap_or(v4);
        assert!(message(v6, b"x").starts_with(b"2:2001|:0DB8|:"), "IPv6 expanded, colons escaped");
        assert_eq!(datagram_line(b"a\n"), b"a");
        assert_eq!(datagram_line(b"a\n\n"), b"a\n");
    }

    #[test]
    fn tcp_streams_are_cut_at_each_lf() {
        let mut lines = Lines::default();
        assert_eq!(lines.push(b"one\ntw"), Ok(vec![b"one".to_vec()]));
        assert_eq!(lines.push(b"o\n\nthree"), Ok(vec![b"two".to_vec(), Vec::new()]));
        assert_eq!(lines.push(&vec![b'x'; MAX_LINE]), Err(TooLong));
    }

    #[test]
    fn denied_wins_and_only_allowed_sources_pass() -> Result<(), IpError> {
        let access = Access::new(&["10.0.0.0/8".into(), "::1".into()], &["10.0.0.66".into()])?;
        assert!(access.permits(IpAddr::from([10, 1, 2, 3])));
        assert!(!access.permits(IpAddr::from([10, 0, 0, 66])));
        assert!(!access.permits(IpAddr::from([192, 168, 0, 1])));
        assert!(access.permits("::1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!(Access::new(&[], &[])?.is_closed());
        assert!(Access::new(&["not an ip".into()], &[]).is_err());
        Ok(())
    }
}
