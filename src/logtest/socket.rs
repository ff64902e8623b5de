//! `queue/sockets/logtest`: Wazuh's logtest socket. A Unix stream socket carrying one request
//! per connection, each message framed by its length as a little-endian u32; messages over
//! `OS_MAXSTR` get error 5.

use std::io::{self, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use super::Logtest;

/// Largest message either side sends (`OS_MAXSTR`).
pub const MAX_MESSAGE: usize = 65536;
/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections answered at once; more are closed unanswered (counted, logged), so a local
/// client flood cannot exhaust threads.
const MAX_CONNECTIONS: usize = 64;

/// Reads one framed message; `Ok(None)` when it is larger than [`MAX_MESSAGE`] (the body is
/// left unread).
pub fn read_message(stream: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header)?;
    let size = u32::from_le_bytes(header) as usize;
    if size > MAX_MESSAGE {
        return Ok(None);
    }
    let mut body = vec![0u8; size];
    stream.read_exact(&mut body)?;
    Ok(Some(body))
}

/// Writes one framed message.
pub fn write_message(stream: &mut impl Write, body: &[u8]) -> io::Result<()> {
    let size =
        u32::try_from(body.len()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "message too long"))?;
    stream.write_all(&size.to_le_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

/// Sends `request` to the logtest socket at `path` and returns the response text.
pub fn request(path: &Path, request: &str) -> io::Result<String> {
    let mut stream = UnixStream::connect(path)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write_message(&mut stream, request.as_bytes())?;
    match read_message(&mut stream)? {
        Some(body) => Ok(String::from_utf8_lossy(&body).into_owned()),
        None => Err(io::Error::new(io::ErrorKind::InvalidData, "response larger than the protocol allows")),
    }
}

/// Binds the socket at `path` (replacing a stale one), readable and writable by owner and group.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    crate::home::bind_socket(path, |p| UnixListener::bind(p))
}

/// Answers connections on `listener` until it fails; each connection gets its own thread (at
/// most [`MAX_CONNECTIONS`] at once), and idle sessions are closed as connections come in.
pub fn serve(listener: UnixListener, logtest: Arc<Logtest>) {
    let active = Arc::new(AtomicUsize::new(0));
    let refused = AtomicU64::new(0);
    for stream in listener.incoming() {
        let mut stream = match stream {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("(7301): Failure to accept connection. Errno: {e}");
                continue;
            }
        };
        if active.load(Ordering::Acquire) >= MAX_CONNECTIONS {
            let n = refused.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(refused = n, "logtest: too many connections at once; one closed unanswered");
            continue;
        }
        logtest.expire();
        let logtest = Arc::clone(&logtest);
        active.fetch_add(1, Ordering::AcqRel);
        let done = Arc::clone(&active);
        let spawned = std::thread::Builder::new().name("vigil-logtest".into()).spawn(move || {
            if let Err(e) = answer(&mut stream, &logtest) {
                tracing::debug!("(7302): Failure to receive message: Errno: {e}");
            }
            done.fetch_sub(1, Ordering::AcqRel);
        });
        if let Err(e) = spawned {
            active.fetch_sub(1, Ordering::AcqRel);
            tracing::error!("cannot start a logtest thread: {e}");
        }
    }
}

fn answer(stream: &mut UnixStream, logtest: &Logtest) -> io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let response = match read_message(stream)? {
        Some(body) => logtest.handle(&String::from_utf8_lossy(&body)),
        None => {
            tracing::debug!("(7315): Failure to receive message: size is bigger than expected");
            Logtest::too_large()
        }
    };
    write_message(stream, response.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_round_trip_and_oversize() {
        let mut buf = Vec::new();
        write_message(&mut buf, b"{\"a\":1}").expect("write");
        assert_eq!(&buf[..4], &7u32.to_le_bytes());
        assert_eq!(read_message(&mut buf.as_slice()).expect("read").as_deref(), Some(&b"{\"a\":1}"[..]));
        let big = ((MAX_MESSAGE + 1) as u32).to_le_bytes();
        assert_eq!(read_message(&mut big.as_slice()).expect("header read"), None);
        assert!(read_message(&mut [1u8, 0].as_slice()).is_err(), "a short header is an error");
    }
}
