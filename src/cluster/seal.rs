//! Registry values are sealed before they reach NATS: AES-256-GCM under a key derived (HKDF-SHA256)
//! from the cluster `<key>`, so neither NATS nor whoever reads its disks ever holds an agent key
//! in clear. The KV key name is the associated data, so a value copied under another key does
//! not open.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf::{HKDF_SHA256, Salt};
use ring::rand::{SecureRandom, SystemRandom};

/// The layout version, first byte of every sealed value.
const VERSION: u8 = 1;
const SALT: &[u8] = b"vigil cluster registry";

/// Why a value cannot be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Too short, another layout, another cluster key, or altered.
    #[error("sealed value does not open (another cluster key, or corrupt)")]
    Corrupt,
    /// The system random source failed.
    #[error("cannot draw a nonce")]
    Random,
    /// The key cannot be derived.
    #[error("cannot derive the registry key")]
    Key,
}

/// Seals and opens registry values with the cluster's key.
pub struct Sealer {
    key: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

impl Sealer {
    /// The sealer of the cluster whose `<key>` is `secret`, for values of `purpose`.
    pub fn new(secret: &str, purpose: &str) -> Result<Self, SealError> {
        let prk = Salt::new(HKDF_SHA256, SALT).extract(secret.as_bytes());
        let mut bytes = [0u8; 32];
        prk.expand(&[purpose.as_bytes()], &AES_256_GCM)
            .and_then(|okm| okm.fill(&mut bytes))
            .map_err(|_| SealError::Key)?;
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| SealError::Key)?;
        Ok(Self { key: LessSafeKey::new(key) })
    }

    /// `plain` sealed for the KV key `name`: version, nonce, ciphertext and tag.
    pub fn seal(&self, name: &str, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| SealError::Random)?;
        let mut body = plain.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(name.as_bytes()), &mut body)
            .map_err(|_| SealError::Random)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + body.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// The plain value sealed under `name`.
    pub fn open(&self, name: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let (&version, rest) = sealed.split_first().ok_or(SealError::Corrupt)?;
        if version != VERSION || rest.len() < NONCE_LEN {
            return Err(SealError::Corrupt);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Corrupt)?;
        let mut body = body.to_vec();
        let plain =
            self.key.open_in_place(nonce, Aad::from(name.as_bytes()), &mut body).map_err(|_| SealError::Corrupt)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_open_only_with_the_same_key_and_name() {
        let sealer = Sealer::new("0123456789abcdef0123456789abcdef", "agents").expect("sealer");
        let sealed = sealer.seal("agent.1", b"secret key").expect("seal");
        assert!(!sealed.windows(10).any(|w| w == b"secret key"), "the value is not in clear");
        assert_eq!(sealer.open("agent.1", &sealed).as_deref(), Ok(&b"secret key"[..]));
        assert_eq!(sealer.open("agent.2", &sealed), Err(SealError::Corrupt));
        let other = Sealer::new("another cluster key, 32 chars...", "agents").expect("sealer");
        assert_eq!(other.open("agent.1", &sealed), Err(SealError::Corrupt));
        let mut altered = sealed.clone();
        if let Some(last) = altered.last_mut() {
            *last ^= 1;
        }
        assert_eq!(sealer.open("agent.1", &altered), Err(SealError::Corrupt));
        for cut in [0, 1, 5, 13] {
            assert_eq!(sealer.open("agent.1", &sealed[..cut]), Err(SealError::Corrupt));
        }
    }
}
