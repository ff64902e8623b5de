//! The wire message around a ciphertext (protocol.md §2.2): an optional `!<id>!` prefix, then
//! `#AES:` or `:`.

use super::SecError;
use super::cipher::Cipher;

/// A wire message taken apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wire<'a> {
    /// The agent id of a `!<id>!` prefix, as written (`001` is not `1`).
    pub agent_id: Option<&'a str>,
    /// The cipher the marker selects.
    pub cipher: Cipher,
    /// The ciphertext.
    pub ciphertext: &'a [u8],
}

/// Longest id Wazuh writes.
const MAX_ID: usize = 8;

/// Takes a wire message apart.
pub fn split(wire: &[u8]) -> Result<Wire<'_>, SecError> {
    let (agent_id, rest) = match wire.strip_prefix(b"!") {
        Some(rest) => {
            let end = rest.iter().position(|&b| b == b'!').ok_or(SecError::Format)?;
            let id = &rest[..end];
            if id.is_empty() || id.len() > MAX_ID || !id.iter().all(u8::is_ascii_digit) {
                return Err(SecError::Format);
            }
            // Digits are ASCII, so this cannot fail.
            (std::str::from_utf8(id).ok(), &rest[end + 1..])
        }
        None => (None, wire),
    };
    let (cipher, ciphertext) = match rest.strip_prefix(b"#AES") {
        Some(after) => (Cipher::Aes, after.strip_prefix(b":").ok_or(SecError::Format)?),
        None => (Cipher::Blowfish, rest.strip_prefix(b":").ok_or(SecError::Format)?),
    };
    if ciphertext.is_empty() {
        return Err(SecError::Format);
    }
    Ok(Wire { agent_id, cipher, ciphertext })
}

/// The wire message for a ciphertext; the manager never prefixes an id.
pub fn compose(cipher: Cipher, ciphertext: &[u8], agent_id: Option<&str>) -> Vec<u8> {
    let mut wire = Vec::with_capacity(ciphertext.len() + 16);
    if let Some(id) = agent_id {
        wire.push(b'!');
        wire.extend_from_slice(id.as_bytes());
        wire.push(b'!');
    }
    wire.extend_from_slice(match cipher {
        Cipher::Aes => b"#AES:",
        Cipher::Blowfish => b":",
    });
    wire.extend_from_slice(ciphertext);
    wire
}
