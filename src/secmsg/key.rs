//! Per-agent cipher keys derived from a client.keys entry (protocol.md §2.4), with their key
//! schedules done once: Blowfish's costs hundreds of block encryptions.

use aes::cipher::KeyInit as _;

/// hex-md5 of `data`, lower case (`OS_MD5_Str`).
pub fn hex_md5(data: &[u8]) -> [u8; 32] {
    use md5::Digest as _;
    let mut hex = [0u8; 32];
    crate::hex::encode_into(&md5::Md5::digest(data), &mut hex);
    hex
}

/// The two ciphers an agent may use, keyed.
#[derive(Clone)]
pub struct AgentKeys {
    pub(super) aes: aes::Aes256,
    pub(super) blowfish: blowfish::Blowfish,
}

impl std::fmt::Debug for AgentKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AgentKeys(<redacted>)")
    }
}

/// The 47-byte `ek` string: hex-md5(raw) ‖ first 15 chars of hex-md5(hex-md5(name) ‖ hex-md5(id)).
pub fn derived_key(id: &str, name: &str, raw: &str) -> [u8; 47] {
    let mut inner = [0u8; 64];
    inner[..32].copy_from_slice(&hex_md5(name.as_bytes()));
    inner[32..].copy_from_slice(&hex_md5(id.as_bytes()));
    let h1 = hex_md5(&inner);
    let mut ek = [0u8; 47];
    ek[..32].copy_from_slice(&hex_md5(raw.as_bytes()));
    ek[32..].copy_from_slice(&h1[..15]);
    ek
}

impl AgentKeys {
    /// Keys for the entry `id name ip raw`: AES-256 takes the first 32 bytes of `ek`,
    /// Blowfish all 47.
    pub fn derive(id: &str, name: &str, raw: &str) -> Self {
        let ek = derived_key(id, name, raw);
        let aes = aes::Aes256::new((&ek[..32]).into());
        // 47 bytes is within Blowfish's 4..=56-byte key range, so this cannot fail.
        let blowfish = blowfish::Blowfish::new_from_slice(&ek).unwrap_or_else(|_| unreachable!("47-byte key"));
        Self { aes, blowfish }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_md_vector() {
        assert_eq!(&hex_md5(b"agent1"), b"83a87fd756ab57199c0bb6d5e11168cb");
        let ek = derived_key("001", "agent1", &"a".repeat(64));
        assert_eq!(&ek, b"014842d480b571495a4a0363793f7367fda4af11475abae");
    }
}
