//! AES-256-CBC and Blowfish-CBC with Wazuh's fixed IVs (protocol.md §2.6).

use aes::cipher::block_padding::{NoPadding, Pkcs7};
use aes::cipher::{BlockDecryptMut as _, BlockEncryptMut as _, InnerIvInit as _};

use super::key::AgentKeys;

/// AES's IV: these 16 ASCII bytes, every message.
const AES_IV: &[u8; 16] = b"FEDCBA0987654321";
/// Blowfish's IV, every message.
const BLOWFISH_IV: [u8; 8] = [0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10];

/// Which cipher a message uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cipher {
    /// AES-256-CBC with PKCS#7 padding (`#AES:` messages; agents' default).
    Aes,
    /// Blowfish-CBC without padding (`:` messages; legacy).
    Blowfish,
}

/// The ciphertext did not decrypt (wrong key, truncated, or bad padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Undecryptable;

impl Cipher {
    /// Encrypts `plain`, whose length is a multiple of 8 (the `!` padding sees to it).
    pub fn encrypt(self, keys: &AgentKeys, plain: &[u8]) -> Vec<u8> {
        match self {
            Self::Aes => cbc::Encryptor::<aes::Aes256>::inner_iv_init(keys.aes.clone(), AES_IV.into())
                .encrypt_padded_vec_mut::<Pkcs7>(plain),
            Self::Blowfish => {
                cbc::Encryptor::<blowfish::Blowfish>::inner_iv_init(keys.blowfish.clone(), (&BLOWFISH_IV).into())
                    .encrypt_padded_vec_mut::<NoPadding>(plain)
            }
        }
    }

    /// Decrypts in place and returns the plaintext's length.
    pub fn decrypt(self, keys: &AgentKeys, buf: &mut [u8]) -> Result<usize, Undecryptable> {
        let plain = match self {
            Self::Aes => cbc::Decryptor::<aes::Aes256>::inner_iv_init(keys.aes.clone(), AES_IV.into())
                .decrypt_padded_mut::<Pkcs7>(buf),
            Self::Blowfish => {
                cbc::Decryptor::<blowfish::Blowfish>::inner_iv_init(keys.blowfish.clone(), (&BLOWFISH_IV).into())
                    .decrypt_padded_mut::<NoPadding>(buf)
            }
        };
        plain.map(|p| p.len()).map_err(|_| Undecryptable)
    }
}
