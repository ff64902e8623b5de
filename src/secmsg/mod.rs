//! Wazuh's secure message format, without sockets (protocol.md §2): TCP framing, the wire
//! prefix, per-agent keys, AES and Blowfish with fixed IVs, capped zlib, the MD5 checksum and
//! the counters. What fails names its reason, for counters and Wazuh's log codes.

pub mod cipher;
pub mod frame;
pub mod inflate;
pub mod key;
pub mod message;
pub mod wire;

pub use cipher::Cipher;
pub use frame::{Framer, MAX_FRAME, frame, unframe};
pub use key::AgentKeys;
pub use message::{Counters, Opened, open, seal};
pub use wire::{Wire, compose, split};

/// A payload sealed and framed for TCP, with the `!<id>!` prefix when `agent_id` is given (agents
/// add it; the manager never does).
pub fn seal_frame(
    keys: &AgentKeys,
    cipher: Cipher,
    counters: Counters,
    random: u16,
    payload: &[u8],
    agent_id: Option<&str>,
) -> Result<Vec<u8>, SecError> {
    Ok(frame(&compose(cipher, &seal(keys, cipher, counters, random, payload)?, agent_id)))
}

/// The wire message `frame` taken apart and opened with `keys`.
pub fn open_frame(keys: &AgentKeys, frame: &[u8]) -> Result<Opened, SecError> {
    let wire = split(frame)?;
    open(keys, wire.cipher, wire.ciphertext)
}

/// Why a frame or message was refused; the connection that sent it is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecError {
    /// A zero-length TCP frame.
    #[error("empty frame")]
    EmptyFrame,
    /// A TCP frame longer than 65536 bytes.
    #[error("frame of {0} bytes (more than 65536)")]
    FrameTooLarge(usize),
    /// The wire message or the plaintext layout is malformed (Wazuh 1403).
    #[error("incorrectly formatted message")]
    Format,
    /// The ciphertext does not decrypt with the agent's key (Wazuh 1404).
    #[error("wrong key or corrupt payload")]
    WrongKey,
    /// The compressed data is not zlib (Wazuh 1404).
    #[error("corrupt compressed payload")]
    Corrupt,
    /// The plaintext inflates past the cap: a zip bomb.
    #[error("payload inflates past {} bytes", message::MAX_INFLATED)]
    TooLarge,
    /// The inflated message is shorter than its header.
    #[error("message shorter than its {}-byte header", message::HEADER)]
    TooShort,
    /// The MD5 checksum does not match (Wazuh 1406).
    #[error("checksum mismatch")]
    Checksum,
    /// OSSEC's uncompressed layout, which no 4.x agent sends.
    #[error("legacy uncompressed message")]
    Legacy,
    /// A payload that cannot be sent (empty or over 65408 bytes).
    #[error("payload of {0} bytes cannot be sent (1 to 65408)")]
    PayloadSize(usize),
}

impl SecError {
    /// A short name for counters.
    pub fn reason(self) -> &'static str {
        match self {
            Self::EmptyFrame => "empty_frame",
            Self::FrameTooLarge(_) => "frame_too_large",
            Self::Format => "bad_format",
            Self::WrongKey => "wrong_key",
            Self::Corrupt => "corrupt",
            Self::TooLarge => "inflate_cap",
            Self::TooShort => "too_short",
            Self::Checksum => "checksum",
            Self::Legacy => "legacy_format",
            Self::PayloadSize(_) => "payload_size",
        }
    }
}
