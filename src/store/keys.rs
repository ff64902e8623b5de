//! `etc/client.keys`: Wazuh's agent key file, read and written byte-compatibly (sans-IO).
//!
//! One entry a line, `<id> SP <name> SP <ip> SP <key> LF`. Lines starting with `#` or a space are
//! comments. A name starting with `!` or `#` marks a removed agent, kept so its id is not reused;
//! Wazuh copies such lines verbatim, and so do we.

use super::agent::{AgentId, AgentIp, AgentKey, AgentName, FieldError};

/// A client.keys line that cannot be taken, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysError {
    /// Fewer than four space-separated fields.
    #[error("line {line}: expected '<id> <name> <ip> <key>'")]
    Shape {
        /// Line number.
        line: usize,
    },
    /// A field failed validation.
    #[error("line {line}: {source}")]
    Field {
        /// Line number.
        line: usize,
        /// What was wrong.
        source: FieldError,
    },
    /// The file does not end with a newline: it was cut short while being written.
    #[error("line {line}: truncated (no newline at the end of the file)")]
    Truncated {
        /// Line number.
        line: usize,
    },
}

/// One agent line of client.keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyEntry {
    /// A registered agent.
    Active {
        /// Agent id.
        id: AgentId,
        /// Agent name.
        name: AgentName,
        /// Registration address.
        ip: AgentIp,
        /// Shared secret.
        key: AgentKey,
    },
    /// A removed agent, kept verbatim so its id stays taken.
    Removed {
        /// Agent id (counted for allocation).
        id: AgentId,
        /// The whole line without its newline.
        line: String,
    },
}

impl KeyEntry {
    /// The entry's id.
    pub fn id(&self) -> AgentId {
        match self {
            Self::Active { id, .. } | Self::Removed { id, .. } => *id,
        }
    }

    /// The line as Wazuh writes it, with its newline.
    pub fn to_line(&self) -> String {
        match self {
            Self::Active { id, name, ip, key } => format!("{id} {name} {ip} {}\n", key.expose()),
            Self::Removed { line, .. } => format!("{line}\n"),
        }
    }
}

/// Parses a whole client.keys file. Comment lines are skipped; any other bad line is an error.
pub fn parse(text: &str) -> Result<Vec<KeyEntry>, KeysError> {
    let mut entries = Vec::new();
    let mut lines = text.split_inclusive('\n').enumerate().peekable();
    while let Some((index, raw)) = lines.next() {
        let line = index + 1;
        let Some(content) = raw.strip_suffix('\n') else {
            // A last line with no newline is a write cut short, unless it is blank.
            if raw.trim().is_empty() {
                break;
            }
            return Err(KeysError::Truncated { line });
        };
        if content.starts_with('#') || content.starts_with(' ') {
            continue;
        }
        if content.is_empty() && lines.peek().is_none() {
            continue;
        }
        entries.push(parse_line(content, line)?);
    }
    Ok(entries)
}

fn parse_line(content: &str, line: usize) -> Result<KeyEntry, KeysError> {
    let field = |source: FieldError| KeysError::Field { line, source };
    let mut parts = content.splitn(4, ' ');
    let (Some(id), Some(name), Some(ip), Some(key)) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(KeysError::Shape { line });
    };
    let id: AgentId = id.parse().map_err(field)?;
    if name.starts_with(['!', '#']) {
        return Ok(KeyEntry::Removed { id, line: content.to_owned() });
    }
    Ok(KeyEntry::Active {
        id,
        name: name.parse().map_err(field)?,
        ip: ip.parse().map_err(field)?,
        key: key.parse().map_err(field)?,
    })
}

/// Writes entries in order, one line each, as Wazuh's `OS_WriteKeys` does.
pub fn format(entries: &[KeyEntry]) -> String {
    entries.iter().map(KeyEntry::to_line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "001 web01 any 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n\
002 db01 10.0.0.7 9ab1\n\
003 !oldhost any 77de\n\
004 v6host 0000:0000:0000:0000:0000:0000:0000:0001 aa\n\
005 lan 192.168.0.0/24 bb\n\
006 #gone 10.0.0.9 cc\n\
1000 big fe80::/64 dd\n";

    #[test]
    fn round_trips_byte_for_byte() {
        let entries = parse(FILE);
        assert_eq!(entries.as_ref().map(Vec::len), Ok(7));
        assert_eq!(entries.map(|e| format(&e)), Ok(FILE.to_owned()));
    }

    #[test]
    fn comments_are_not_agents() {
        let entries = parse("# header\n 001 indented any k\n001 a1 any k\n");
        assert_eq!(entries.map(|e| e.len()), Ok(1));
    }

    #[test]
    fn bad_lines_name_line_and_field() {
        assert_eq!(parse("001 ab any k\n002 short\n"), Err(KeysError::Shape { line: 2 }));
        let err = parse("00x ab any k\n").err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("line 1: invalid agent id '00x': expected 1 to 8 digits, not 000"));
        assert!(matches!(parse("001 ab any k y\n"), Err(KeysError::Field { line: 1, source: FieldError::Key })));
        assert!(matches!(parse("001 ab 1.2.3.999 k\n"), Err(KeysError::Field { line: 1, .. })));
        assert_eq!(parse("001 ab any k\n002 cd an"), Err(KeysError::Truncated { line: 2 }));
        assert!(parse("001 ab any k\n\n002 cd any k\n").is_err());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(text in "[0-9a-z !#:./\n]{0,200}") {
            let _ = parse(&text);
        }
    }
}
