//! The agent side of enrollment (what `agent-auth` does): one TLS connection, one request line,
//! one answer. Used by `vigil enroll`, the enrollment benchmark and tests.

use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::password::Password;
use crate::store::KeyEntry;

/// Longest answer read.
const MAX_ANSWER: usize = 4096;

/// What an agent asks for.
#[derive(Debug, Clone, Default)]
pub struct Enrollment {
    /// Agent name.
    pub name: String,
    /// Comma-separated groups.
    pub groups: Option<String>,
    /// The enrollment password.
    pub password: Option<Password>,
    /// `src` or an address to register with.
    pub ip: Option<String>,
    /// Agent version, e.g. `v4.14.7`.
    pub version: Option<String>,
    /// SHA-1 of the key the agent holds now.
    pub key_hash: Option<String>,
}

impl Enrollment {
    /// The request line, LF included, as a 4.x agent writes it.
    pub fn request_line(&self) -> Vec<u8> {
        let mut line = Vec::with_capacity(64);
        if let Some(password) = &self.password {
            line.extend_from_slice(b"OSSEC PASS: ");
            line.extend_from_slice(password.expose());
            line.push(b' ');
        }
        line.extend_from_slice(format!("OSSEC A:'{}'", self.name).as_bytes());
        let parts = [(" V:'", &self.version), (" G:'", &self.groups), (" IP:'", &self.ip), (" K:'", &self.key_hash)];
        for (token, value) in parts {
            if let Some(value) = value {
                line.extend_from_slice(format!("{token}{value}'").as_bytes());
            }
        }
        line.push(b'\n');
        line
    }
}

/// What the manager answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The agent's client.keys entry.
    Key(KeyEntry),
    /// The manager's refusal, `ERROR: …` included.
    Refused(String),
}

/// Why no answer could be had.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting, the handshake, or the exchange failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The manager address is not a valid TLS server name.
    #[error("invalid manager address '{0}'")]
    ServerName(String),
    /// No answer within the time allowed.
    #[error("no answer from the manager within {0:?}")]
    Timeout(Duration),
    /// The answer is neither a key nor an error.
    #[error("unexpected answer from the manager: {0}")]
    Garbled(String),
}

/// Reads an answer as an agent does: a key between `OSSEC K:'` and `'` whose four fields pass
/// the agent's checks, or anything starting with `ERROR: `.
pub fn parse_answer(bytes: &[u8]) -> Result<Answer, ClientError> {
    let text = String::from_utf8_lossy(bytes);
    let garbled = || ClientError::Garbled(text.chars().take(200).collect());
    if text.starts_with("ERROR: ") {
        return Ok(Answer::Refused(text.trim_end().to_owned()));
    }
    let body = text.strip_prefix("OSSEC K:'").and_then(|b| b.split_once('\'')).map(|(b, _)| b).ok_or_else(garbled)?;
    let entries = crate::store::keys::parse(&format!("{body}\n")).map_err(|_| garbled())?;
    match <[KeyEntry; 1]>::try_from(entries) {
        Ok([entry @ KeyEntry::Active { .. }]) => Ok(Answer::Key(entry)),
        _ => Err(garbled()),
    }
}

/// Enrolls at `manager:port` (a host name or an address), waiting at most `timeout`.
pub async fn enroll(
    config: Arc<ClientConfig>,
    manager: &str,
    port: u16,
    request: &Enrollment,
    timeout: Duration,
) -> Result<Answer, ClientError> {
    let connect = TcpStream::connect((manager, port));
    let tcp = tokio::time::timeout(timeout, connect).await.map_err(|_| ClientError::Timeout(timeout))??;
    enroll_on(tcp, config, manager, request, timeout).await
}

/// Enrolls over a connection already made to `manager`.
pub async fn enroll_on(
    tcp: TcpStream,
    config: Arc<ClientConfig>,
    manager: &str,
    request: &Enrollment,
    timeout: Duration,
) -> Result<Answer, ClientError> {
    let server_name =
        ServerName::try_from(manager.to_owned()).map_err(|_| ClientError::ServerName(manager.to_owned()))?;
    let exchange = async {
        tcp.set_nodelay(true)?;
        let mut tls = TlsConnector::from(config).connect(server_name, tcp).await?;
        tls.write_all(&request.request_line()).await?;
        tls.flush().await?;
        let mut answer = Vec::with_capacity(128);
        // The manager closes after answering; a missing close_notify still ends the answer.
        match (&mut tls).take(MAX_ANSWER as u64).read_to_end(&mut answer).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !answer.is_empty() => {}
            Err(e) => return Err(ClientError::Io(e)),
        }
        parse_answer(&answer)
    };
    tokio::time::timeout(timeout, exchange).await.map_err(|_| ClientError::Timeout(timeout))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_read_as_agents_write_them() {
        let request = Enrollment {
            name: "web01".into(),
            groups: Some("linux,web".into()),
            password: Some(Password::new(b"s3cr3t".to_vec())),
            ip: Some("src".into()),
            version: Some("v4.14.7".into()),
            key_hash: None,
        };
        assert_eq!(request.request_line(), b"OSSEC PASS: s3cr3t OSSEC A:'web01' V:'v4.14.7' G:'linux,web' IP:'src'\n");
    }

    #[test]
    fn answers() {
        let key = "a".repeat(64);
        let answer = parse_answer(format!("OSSEC K:'001 web01 any {key}'").as_bytes()).ok();
        assert!(matches!(answer, Some(Answer::Key(KeyEntry::Active { ref name, .. })) if name.as_str() == "web01"));
        let refused = parse_answer(b"ERROR: Invalid password. Unable to add agent").ok();
        assert_eq!(refused, Some(Answer::Refused("ERROR: Invalid password. Unable to add agent".into())));
        assert!(parse_answer(b"OSSEC K:'001 web01'").is_err());
        assert!(parse_answer(b"HTTP/1.1 400").is_err());
    }
}
