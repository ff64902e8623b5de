//! Pre-decoding: the queue message `<q>:<location>:<message>` into location, agent, and the
//! syslog header Wazuh strips (timestamp, hostname, program name), as analysisd's `OS_CleanMSG`.
//!
//! Wazuh edits a working copy of the message in place, writing NUL bytes to cut the hostname,
//! the program name and the timestamp, and reads each piece as a C string. Those cuts decide
//! what decoders see (an odd header can leave `log` cut short), so this port works the same way
//! on a byte buffer and reads the pieces back up to their NUL.

/// Longest queue message analysisd reads (`OS_MAXSTR`); the rest is cut off, as Wazuh's
/// queue buffer does.
pub const MAX_MESSAGE: usize = 65536;

/// Longest location Wazuh keeps (`OS_SIZE_8192 + OS_SIZE_256 + 3`, less its NUL).
const MAX_LOCATION: usize = 8192 + 256 + 2;

/// A message analysisd would drop as malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PredecodeError {
    /// No unescaped `:` after the location, or an agent location without `]`.
    #[error("invalid message format: expected '<queue>:<location>:<message>'")]
    Format,
}

/// What pre-decoding found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Predecoded {
    /// Queue id (`1` log files, `2` syslog, …).
    pub queue: u8,
    /// Where the event came from (for agents, what follows `[id] `).
    pub location: String,
    /// `000` for the manager itself.
    pub agent_id: String,
    /// Agent name, syslog hostname, or the manager's host name.
    pub hostname: String,
    /// Whether the hostname came from a syslog header (shown under `predecoder`).
    pub header_hostname: bool,
    /// Program name from the syslog header.
    pub program_name: Option<String>,
    /// Timestamp text from the header.
    pub timestamp: Option<String>,
    /// The whole message, untouched.
    pub full_log: String,
    /// The message after the header: what decoders and rules read.
    pub log: String,
}

/// `hostname_map`: characters Wazuh accepts in hostnames and program names.
fn valid_char(b: u8) -> bool {
    matches!(b, b'(' | b')' | b'-'..=b'9' | b'@'..=b'Z' | b'_' | b'a'..=b'z')
}

/// The message buffer with C-string reads: bytes past the end read as NUL.
struct Buf(Vec<u8>);

impl Buf {
    fn at(&self, i: usize) -> u8 {
        self.0.get(i).copied().unwrap_or(0)
    }

    fn set(&mut self, i: usize, b: u8) {
        if let Some(slot) = self.0.get_mut(i) {
            *slot = b;
        }
    }

    /// The C string starting at `i`. The copy differs from the message only where NULs cut it,
    /// so when the message is valid UTF-8 (`original`) the piece is a slice of it, already
    /// checked.
    fn cstr(&self, i: usize, original: Option<&str>) -> String {
        let tail = self.0.get(i..).unwrap_or_default();
        let end = memchr::memchr(0, tail).unwrap_or(tail.len());
        match original.and_then(|text| text.get(i..i + end)) {
            Some(piece) => piece.to_owned(),
            None => super::text::lossy(&tail[..end]),
        }
    }

    /// Index of the first `c` at or after `i`, before any NUL.
    fn find(&self, i: usize, c: u8) -> Option<usize> {
        let tail = self.0.get(i..)?;
        let end = memchr::memchr(0, tail).unwrap_or(tail.len());
        memchr::memchr(c, &tail[..end]).map(|p| i + p)
    }

    fn starts_with(&self, i: usize, s: &[u8]) -> bool {
        self.0.get(i..).is_some_and(|t| t.starts_with(s))
    }
}

/// `wstr_chr_escape`: the first `:` not escaped by `|`.
fn unescaped_colon(s: &[u8]) -> Option<usize> {
    let mut escaped = false;
    for (i, &b) in s.iter().enumerate() {
        if escaped {
            escaped = false;
        } else if b == b':' {
            return Some(i);
        } else if b == b'|' {
            escaped = true;
        }
    }
    None
}

/// `wstr_unescape` with `|`: `||` → `|`, `|x` → `x`, a trailing `|` stays.
fn unescape_location(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() && out.len() < MAX_LOCATION {
        if s[i] == b'|' {
            match s.get(i + 1) {
                Some(b'|') => {
                    out.push(b'|');
                    i += 2;
                }
                None => {
                    out.push(b'|');
                    i += 1;
                }
                Some(_) => i += 1,
            }
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    super::text::lossy(&out)
}

/// Header positions found by the format checks.
struct Header {
    /// `log` start in the working copy.
    log: usize,
    hostname: Option<usize>,
    program_name: Option<usize>,
    timestamp: Option<usize>,
}

/// Pre-decodes a queue message. `manager_host` is the manager's short host name.
pub fn predecode(raw: &[u8], manager_host: &str) -> Result<Predecoded, PredecodeError> {
    let raw = &raw[..raw.len().min(MAX_MESSAGE)];
    let queue = *raw.first().ok_or(PredecodeError::Format)?;
    let rest = raw.get(2..).ok_or(PredecodeError::Format)?;
    // Everything is a C string in analysisd: a NUL ends the message.
    let rest = &rest[..memchr::memchr(0, rest).unwrap_or(rest.len())];
    let colon = unescaped_colon(rest).ok_or(PredecodeError::Format)?;
    let location = unescape_location(&rest[..colon]);
    let message = &rest[colon + 1..];

    let mut copy = Buf(message.to_vec());
    let header = syslog_header(message, &mut copy);
    let original = std::str::from_utf8(message).ok();
    let full_log = original.map_or_else(|| super::text::lossy(message), str::to_owned);
    let log = copy.cstr(header.log, original);
    let program_name = header.program_name.map(|i| copy.cstr(i, original));
    let timestamp = header.timestamp.map(|i| copy.cstr(i, original));
    let syslog_host = header.hostname.map(|i| copy.cstr(i, original));

    let (location, agent_id, hostname, header_hostname) = if let Some(agent) = location.strip_prefix('[') {
        let close = agent.find(']').ok_or(PredecodeError::Format)?;
        let agent_id = agent[..close].to_owned();
        let after = &agent[close + 1..];
        // Wazuh skips the two characters after `]` (normally "] ").
        let location = after.get(1..).unwrap_or_default().to_owned();
        let hostname = match location.strip_prefix('(') {
            Some(named) => named.find(')').map(|end| named[..end].to_owned()).unwrap_or_default(),
            None => String::new(),
        };
        (location, agent_id, hostname, false)
    } else {
        let header_hostname = syslog_host.is_some();
        let hostname = syslog_host.unwrap_or_else(|| manager_host.to_owned());
        (location, "000".to_owned(), hostname, header_hostname)
    };
    Ok(Predecoded { queue, location, agent_id, hostname, header_hostname, program_name, timestamp, full_log, log })
}

/// The host name alerts show under `predecoder.hostname`: the token after a classic
/// `Mmm dd hh:mm:ss ` header at the start of the full log (Wazuh's output uses this pattern,
/// not pre-decoding's hostname, so a Solaris-style `prog:` shows up here too).
pub fn shown_hostname(full_log: &str) -> Option<&str> {
    let b = full_log.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let is = |i: usize, c: u8| b.get(i) == Some(&c);
    let header = b.len() > 16
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_lowercase()
        && b[2].is_ascii_lowercase()
        && is(3, b' ')
        && matches!(b[4], b' ' | b'0'..=b'3')
        && digit(5)
        && is(6, b' ')
        && digit(7)
        && digit(8)
        && is(9, b':')
        && digit(10)
        && digit(11)
        && is(12, b':')
        && digit(13)
        && digit(14)
        && is(15, b' ');
    if !header {
        return None;
    }
    let token = full_log[16..].split(' ').next().unwrap_or_default();
    (!token.is_empty()).then_some(token)
}

/// The format checks of `OS_CleanMSG`, on `msg` (the original) and `copy` (the working copy).
fn syslog_header(msg: &[u8], copy: &mut Buf) -> Header {
    let loglen = msg.len() + 1;
    // "Mä" in a month name is two bytes; Wazuh checks the formats on "Ma" shifted one byte,
    // while `log` still advances on the original (the timestamp loses its last character).
    let shifted;
    let check: &[u8] = if loglen >= 3 && msg.get(1) == Some(&0xC3) && msg.get(2) == Some(&0xA4) {
        shifted = [b"Ma".as_slice(), &msg[3..]].concat();
        &shifted
    } else {
        msg
    };
    let p = |i: usize| check.get(i).copied().unwrap_or(0);
    let is = |longer_than: usize, marks: &[(usize, u8)]| loglen > longer_than && shape(check, marks);
    let mut h = Header { log: 0, hostname: None, program_name: None, timestamp: None };

    let syslog_skip = if is(17, &[(3, b' '), (6, b' '), (9, b':'), (12, b':'), (15, b' ')]) {
        Some(16)
    } else if is(24, &[(4, b'-'), (7, b'-'), (10, b' '), (13, b':'), (16, b':'), (19, b',')]) {
        Some(24)
    } else if is(33, &[(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')])
        && ((p(22) == b':' && p(25) == b' ') || p(19) == b'.')
    {
        Some(match (p(22), p(25), p(26), p(29)) {
            (b':', b' ', _, _) => 26,
            (_, _, b':', _) => 30,
            (_, _, _, b':') => 33,
            _ => 32,
        })
    } else if is(21, &[(0, DIGIT), (4, b' '), (8, b' '), (11, b' '), (14, b':'), (17, b':'), (20, b' ')]) {
        Some(21)
    } else if is(33, &[(0, DIGIT), (4, b'-'), (7, b'-'), (10, b' '), (13, b':'), (16, b':'), (19, b'.'), (31, b' ')])
        && matches!(p(26), b'-' | b'+')
    {
        Some(32)
    } else {
        None
    };

    if let Some(skip) = syslog_skip {
        h.log = skip;
        h.timestamp = Some(0);
        copy.set(h.log - 1, 0);
        if copy.at(h.log) == b' ' {
            h.log += 1;
        }
        hostname_and_program(copy, &mut h);
    } else if is(28, &[(3, b' '), (7, b' '), (10, b' '), (13, b':'), (16, b':'), (19, b' '), (24, b' '), (26, b' ')]) {
        // xferlog
        (h.log, h.timestamp) = (25, Some(0));
        copy.set(h.log - 1, 0);
    } else if is(24, &[(2, b'/'), (5, b'-'), (8, b':'), (11, b':'), (14, b'.'), (21, b' ')]) {
        // snort
        (h.log, h.timestamp) = (23, Some(0));
        copy.set(h.log - 2, 0);
    } else if is(28, &[(2, b'/'), (5, b'/'), (10, b'-'), (13, b':'), (16, b':'), (19, b'.'), (26, b' ')]) {
        // suricata
        (h.log, h.timestamp) = (28, Some(0));
        copy.set(h.log - 2, 0);
    } else if is(27, &[(0, b'['), (4, b' '), (8, b' '), (11, b' '), (14, b':'), (17, b':'), (20, b' '), (25, b']')]) {
        // apache: the timestamp starts after `[`
        (h.log, h.timestamp) = (27, Some(1));
        copy.set(h.log - 2, 0);
    } else if is(26, &[(0, b'['), (1, b'T'), (5, b' '), (10, b'.'), (13, b'.'), (16, b' '), (19, b':')]) {
        osx_asl(copy, &mut h);
    } else if is(32, &[(0, b'1'), (1, DIGIT), (2, DIGIT), (3, DIGIT), (10, b'.'), (13, DIGIT), (14, b' ')])
        && (p(21) == b' ' || p(22) == b' ')
    {
        // squid
        h.log = 14;
        while copy.at(h.log) == b' ' {
            h.log += 1;
        }
        h.timestamp = Some(0);
        copy.set(h.log - 1, 0);
    }
    h
}

/// In a [`shape`], "an ASCII digit here" (no header format tests for NUL).
const DIGIT: u8 = 0;

/// Whether `check` has each byte of `marks` at its position ([`DIGIT`]: any digit).
fn shape(check: &[u8], marks: &[(usize, u8)]) -> bool {
    marks.iter().all(|&(i, want)| {
        let got = check.get(i).copied().unwrap_or(0);
        if want == DIGIT { got.is_ascii_digit() } else { got == want }
    })
}

/// After a syslog timestamp: hostname, then `prog:`, `prog[pid]:`, `prog[pid] ` or AIX forms.
fn hostname_and_program(copy: &mut Buf, h: &mut Header) {
    let mut pieces = h.log;
    h.hostname = Some(h.log);
    while valid_char(copy.at(pieces)) {
        pieces += 1;
    }
    // `None` for Wazuh's `pieces = NULL`: `log` stays where it is.
    let next: Option<usize>;
    if copy.at(pieces) == b':' && copy.at(pieces + 1) == b' ' {
        // Solaris: no hostname, the token is the program name.
        h.program_name = h.hostname.take();
        copy.set(pieces, 0);
        pieces += 2;
        h.log = pieces;
        next = Some(pieces);
    } else if copy.at(pieces) != b' ' {
        h.hostname = None;
        next = None;
    } else {
        copy.set(pieces, 0);
        pieces += 1;
        h.log = pieces;
        h.program_name = Some(pieces);
        while valid_char(copy.at(pieces)) {
            pieces += 1;
        }
        if copy.at(pieces) == b':' {
            copy.set(pieces, 0);
            pieces += 1;
            pieces += usize::from(copy.at(pieces) == b' ');
            next = Some(pieces);
        } else if copy.at(pieces) == b'[' && copy.at(pieces + 1).is_ascii_digit() {
            copy.set(pieces, 0);
            pieces += 2;
            while copy.at(pieces).is_ascii_digit() {
                pieces += 1;
            }
            if copy.at(pieces) == b']' && copy.at(pieces + 1) == b':' {
                pieces += 2;
                pieces += usize::from(copy.at(pieces) == b' ');
                next = Some(pieces);
            } else if copy.at(pieces) == b']' && copy.at(pieces + 1) == b' ' {
                next = Some(pieces + 2);
            } else {
                // Not a pid after all: put the `[` back.
                pieces -= 1;
                while copy.at(pieces).is_ascii_digit() {
                    pieces -= 1;
                }
                if copy.at(pieces) == 0 {
                    copy.set(pieces, b'[');
                }
                next = None;
                h.program_name = None;
            }
        } else if copy.at(pieces) == b'|' && copy.at(pieces + 1).is_ascii_lowercase() {
            next = aix(copy, h, pieces + 2);
        } else {
            next = None;
            h.program_name = None;
        }
    }
    if let Some(mut pieces) = next {
        h.log = pieces;
        if copy.starts_with(pieces, b"[ID ") {
            pieces += 4;
            if let Some(close) = copy.find(pieces, b']') {
                h.log = close + 2;
            }
        }
    }
}

/// AIX: `host auth|security:info prog: msg`.
fn aix(copy: &mut Buf, h: &mut Header, pieces: usize) -> Option<usize> {
    // `facility:severity `, both alphanumeric.
    let after = |at: usize, end: u8| {
        let stop = (at..).find(|&i| !copy.at(i).is_ascii_alphanumeric()).unwrap_or(at);
        (copy.at(stop) == end).then_some(stop + 1)
    };
    let Some(mut pieces) = after(pieces, b':').and_then(|p| after(p, b' ')) else {
        h.program_name = None;
        return None;
    };
    h.program_name = Some(pieces);
    while valid_char(copy.at(pieces)) {
        pieces += 1;
    }
    if copy.at(pieces) == b':' && copy.at(pieces + 1) == b' ' {
        copy.set(pieces, 0);
        Some(pieces + 2)
    } else if copy.at(pieces) == b'[' && copy.at(pieces + 1).is_ascii_digit() {
        copy.set(pieces, 0);
        pieces += 2;
        while copy.at(pieces).is_ascii_digit() {
            pieces += 1;
        }
        (copy.at(pieces) == b']' && copy.at(pieces + 1) == b':' && copy.at(pieces + 2) == b' ').then_some(pieces + 3)
    } else {
        Some(pieces)
    }
}

/// macOS ASL: `[Time …] [Facility …] [Sender prog] … [Message text] … [Host h]`.
fn osx_asl(copy: &mut Buf, h: &mut Header) {
    h.log = 25;
    let mut done_message = false;
    let mut pieces = copy.find(h.log, b'[');
    while let Some(mut at) = pieces {
        at += 1;
        if copy.starts_with(at, b"Sender ") && h.program_name.is_none() {
            at += 7;
            h.program_name = Some(at);
            match copy.find(at, b']') {
                Some(close) => {
                    copy.set(close, 0);
                    at = close + 1;
                }
                None => {
                    h.program_name = None;
                    break;
                }
            }
        } else if copy.starts_with(at, b"Message ") && !done_message {
            at += 8;
            done_message = true;
            h.log = at;
            match copy.find(at, b']') {
                Some(close) => {
                    copy.set(close, 0);
                    at = close + 1;
                }
                None => break,
            }
        } else if copy.starts_with(at, b"Host ") {
            at += 5;
            h.hostname = Some(at);
            match copy.find(at, b']') {
                Some(close) => copy.set(close, 0),
                None => h.hostname = None,
            }
            break;
        }
        pieces = copy.find(at, b'[');
    }
}

#[cfg(test)]
mod tests;
