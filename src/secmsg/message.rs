//! A message's plaintext layout (protocol.md §2.5 and §2.7): `!` padding, zlib, the MD5
//! checksum, the random number and counters, then the payload.

use std::cell::RefCell;

use flate2::{Compress, Compression, FlushCompress, Status};

use super::SecError;
use super::cipher::Cipher;
use super::inflate::{Inflate, inflate_capped};
use super::key::{AgentKeys, hex_md5};

/// Checksum (32) + random (5) + global (10) + `:` + local (4) + `:`.
pub const HEADER: usize = 53;
/// Largest payload a sender may put in one message (`OS_MAXSTR - 128`).
pub const MAX_PAYLOAD: usize = 65_536 - 128;
/// Largest inflated message accepted: a bigger one is a zip bomb, not an agent.
pub const MAX_INFLATED: usize = 65_536 + HEADER;

/// The sender's counters (protocol.md §2.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Global counter, 10 digits.
    pub global: u64,
    /// Local counter, 4 digits, 1..=9997.
    pub local: u32,
}

impl Counters {
    /// The pair for the next message: local wraps after 9997 into the next global.
    pub fn advance(&mut self) -> Self {
        if self.local >= 9997 {
            self.local = 0;
            self.global += 1;
        }
        self.local += 1;
        *self
    }
}

/// A decrypted, verified message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The sender's random number (ignored by receivers).
    pub random: u32,
    /// The sender's counters.
    pub counters: Counters,
    /// What the sender sent.
    pub payload: Vec<u8>,
}

/// Decrypts and verifies the ciphertext of a message (after `#AES:` or `:`).
pub fn open(keys: &AgentKeys, cipher: Cipher, ciphertext: &[u8]) -> Result<Opened, SecError> {
    let mut buf = ciphertext.to_vec();
    let len = cipher.decrypt(keys, &mut buf).map_err(|_| SecError::WrongKey)?;
    let plain = &buf[..len];
    match plain.first() {
        Some(b'!') => {}
        // ':' is OSSEC's uncompressed layout, which no 4.x agent sends.
        Some(b':') => return Err(SecError::Legacy),
        _ => return Err(SecError::WrongKey),
    }
    let start = plain.iter().position(|&b| b != b'!').unwrap_or(plain.len());
    let inflated = inflate_capped(&plain[start..], MAX_INFLATED).map_err(|e| match e {
        Inflate::Corrupt => SecError::Corrupt,
        Inflate::OverCap => SecError::TooLarge,
    })?;
    if inflated.len() < HEADER {
        return Err(SecError::TooShort);
    }
    if hex_md5(&inflated[32..]) != inflated[..32] {
        return Err(SecError::Checksum);
    }
    if inflated[47] != b':' || inflated[52] != b':' {
        return Err(SecError::Format);
    }
    let counters = Counters { global: digits(&inflated[37..47]), local: digits(&inflated[48..52]) as u32 };
    Ok(Opened { random: digits(&inflated[32..37]) as u32, counters, payload: inflated[HEADER..].to_vec() })
}

/// `atol` of a fixed-width field: leading digits, 0 when none.
fn digits(field: &[u8]) -> u64 {
    field.iter().take_while(|b| b.is_ascii_digit()).fold(0, |n, &d| n * 10 + u64::from(d - b'0'))
}

thread_local! {
    /// One deflate state per thread, reset for each message: a fresh one allocates some 300 KB
    /// of window and tables every time, which fragments the heap of a core sealing acks.
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::default(), true));
}

/// `data` as one zlib stream.
fn deflate(data: &[u8]) -> Result<Vec<u8>, SecError> {
    DEFLATE.with_borrow_mut(|stream| {
        stream.reset();
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        loop {
            let input = data.get(stream.total_in() as usize..).unwrap_or_default();
            match stream.compress_vec(input, &mut out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => return Ok(out),
                // The output was full: room for more.
                Ok(_) => out.reserve(out.capacity().max(64)),
                Err(_) => return Err(SecError::Corrupt),
            }
        }
    })
}

/// Builds the ciphertext of a message (to follow `#AES:` or `:`).
pub fn seal(
    keys: &AgentKeys,
    cipher: Cipher,
    counters: Counters,
    random: u16,
    payload: &[u8],
) -> Result<Vec<u8>, SecError> {
    if payload.is_empty() || payload.len() > MAX_PAYLOAD {
        return Err(SecError::PayloadSize(payload.len()));
    }
    let mut full = Vec::with_capacity(HEADER + payload.len());
    full.extend_from_slice(&[0; 32]);
    full.extend_from_slice(format!("{random:05}{:010}:{:04}:", counters.global, counters.local).as_bytes());
    full.extend_from_slice(payload);
    let checksum = hex_md5(&full[32..]);
    full[..32].copy_from_slice(&checksum);
    let compressed = deflate(&full)?;
    let pad = 8 - compressed.len() % 8;
    let mut padded = Vec::with_capacity(pad + compressed.len());
    padded.resize(pad, b'!');
    padded.extend_from_slice(&compressed);
    Ok(cipher.encrypt(keys, &padded))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::secmsg::inflate::tests::zlib;

    fn keys() -> AgentKeys {
        AgentKeys::derive("001", "agent1", &"a".repeat(64))
    }

    /// A ciphertext whose plaintext is `!`-padded `compressed` bytes, as a sender builds it.
    fn encrypt_padded(cipher: Cipher, compressed: &[u8]) -> Vec<u8> {
        let mut padded = vec![b'!'; 8 - compressed.len() % 8];
        padded.extend_from_slice(compressed);
        cipher.encrypt(&keys(), &padded)
    }

    #[test]
    fn counters_wrap_after_9997() {
        let mut c = Counters { global: 7, local: 9996 };
        assert_eq!(c.advance(), Counters { global: 7, local: 9997 });
        assert_eq!(c.advance(), Counters { global: 8, local: 1 });
    }

    #[test]
    fn zip_bombs_stop_at_the_cap() {
        let bomb = encrypt_padded(Cipher::Aes, &zlib(&vec![b'0'; 10 << 20]));
        assert_eq!(open(&keys(), Cipher::Aes, &bomb), Err(SecError::TooLarge));
    }

    #[test]
    fn broken_layouts_are_named() {
        let other = AgentKeys::derive("002", "agent2", &"b".repeat(64));
        let sealed = seal(&keys(), Cipher::Aes, Counters::default(), 1, b"payload").unwrap_or_default();
        assert_eq!(open(&other, Cipher::Aes, &sealed), Err(SecError::WrongKey));
        assert_eq!(open(&keys(), Cipher::Aes, &sealed[..sealed.len() - 3]), Err(SecError::WrongKey));
        let short = encrypt_padded(Cipher::Blowfish, &zlib(b"too short"));
        assert_eq!(open(&keys(), Cipher::Blowfish, &short), Err(SecError::TooShort));
        let mut tampered = hex_md5(b"x").to_vec();
        tampered.extend_from_slice(b"123450000000001:0001:payload");
        let tampered = encrypt_padded(Cipher::Aes, &zlib(&tampered));
        assert_eq!(open(&keys(), Cipher::Aes, &tampered), Err(SecError::Checksum));
        let not_zlib = encrypt_padded(Cipher::Aes, b"this is not a zlib stream at all");
        assert_eq!(open(&keys(), Cipher::Aes, &not_zlib), Err(SecError::Corrupt));
        let legacy = Cipher::Aes.encrypt(&keys(), b":legacy!");
        assert_eq!(open(&keys(), Cipher::Aes, &legacy), Err(SecError::Legacy));
        assert_eq!(seal(&keys(), Cipher::Aes, Counters::default(), 1, b""), Err(SecError::PayloadSize(0)));
    }

    proptest! {
        #[test]
        fn what_is_sealed_opens_unchanged(
            payload in proptest::collection::vec(any::<u8>(), 1..4096),
            global in 0u64..10_000_000_000,
            local in 1u32..=9997,
            random: u16,
            aes: bool,
        ) {
            let cipher = if aes { Cipher::Aes } else { Cipher::Blowfish };
            let counters = Counters { global, local };
            let sealed = seal(&keys(), cipher, counters, random, &payload).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let opened = open(&keys(), cipher, &sealed).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(opened, Opened { random: u32::from(random), counters, payload });
        }
    }
}
