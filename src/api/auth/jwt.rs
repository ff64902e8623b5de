//! API tokens: JWTs signed with ES256 (ECDSA P-256). The key pair is made once per home and kept
//! in `api/configuration/security/private_key.pem` (0600). Only ES256 is accepted: tokens with
//! `alg: none`, HMAC or any other algorithm fail verification.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::api::rbac::Mode;

/// Where the signing key lives, relative to the home (Wazuh's place for it).
pub const KEY_FILE: &str = "api/configuration/security/private_key.pem";

/// `iss`.
pub const ISSUER: &str = "wazuh";

/// `aud`.
pub const AUDIENCE: &str = "Wazuh API REST";

/// Verified tokens kept so a repeated token skips the signature check.
const CACHE_SIZE: usize = 4096;

/// A token's claims (Wazuh's, plus the issue time in milliseconds for revocation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// `wazuh`.
    pub iss: String,
    /// `Wazuh API REST`.
    pub aud: String,
    /// Not before, Unix seconds.
    pub nbf: i64,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Username.
    pub sub: String,
    /// User id (a user deleted and made again under the same name is another user).
    pub uid: u32,
    /// Issued through `run_as`.
    pub run_as: bool,
    /// Role ids.
    pub rbac_roles: Vec<u32>,
    /// Mode when issued.
    pub rbac_mode: Mode,
    /// Issue time, Unix milliseconds (revocations compare against it).
    pub issued_ms: i64,
}

/// Why a token or key is refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The key file cannot be read, parsed or written.
    #[error("JWT key {path}: {reason}")]
    Key {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// Signing failed.
    #[error("cannot sign the token: {0}")]
    Sign(jsonwebtoken::errors::Error),
    /// The token is malformed, forged, of another algorithm, or expired.
    #[error("Invalid token")]
    Invalid,
}

/// Issues and verifies tokens.
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    verified: Mutex<HashMap<String, Arc<Claims>>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").finish_non_exhaustive()
    }
}

impl Tokens {
    /// Loads the home's key, generating it on first use.
    pub fn open(home: &Path) -> Result<Self, TokenError> {
        let path = home.join(KEY_FILE);
        let key_error = |reason: String| TokenError::Key { path: path.display().to_string(), reason };
        let pair = if path.exists() {
            let pem = std::fs::read_to_string(&path).map_err(|e| key_error(e.to_string()))?;
            rcgen::KeyPair::from_pem(&pem).map_err(|e| key_error(e.to_string()))?
        } else {
            let pair =
                rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| key_error(e.to_string()))?;
            if let Some(dir) = path.parent() {
                use std::os::unix::fs::DirBuilderExt as _;
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|e| key_error(e.to_string()))?;
            }
            crate::home::Home::write_atomic(&path, pair.serialize_pem().as_bytes(), 0o600)
                .map_err(|e| key_error(e.to_string()))?;
            pair
        };
        Ok(Self::from_pair(&pair))
    }

    fn from_pair(pair: &rcgen::KeyPair) -> Self {
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.validate_nbf = true;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
        Self {
            encoding: EncodingKey::from_ec_der(&pair.serialize_der()),
            decoding: DecodingKey::from_ec_der(pair.public_key_raw()),
            validation,
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// Signs a token for `claims`.
    pub fn issue(&self, claims: &Claims) -> Result<String, TokenError> {
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), claims, &self.encoding).map_err(TokenError::Sign)
    }

    /// The claims of a valid, unexpired token at `now` (Unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Arc<Claims>, TokenError> {
        let cached = crate::sync::lock(&self.verified).get(token).cloned();
        let claims = match cached {
            Some(c) => c,
            None => {
                let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
                    .map_err(|_| TokenError::Invalid)?;
                let claims = Arc::new(data.claims);
                let mut cache = crate::sync::lock(&self.verified);
                if cache.len() >= CACHE_SIZE {
                    cache.retain(|_, c| c.exp > now);
                    if cache.len() >= CACHE_SIZE {
                        cache.clear();
                    }
                }
                cache.insert(token.to_owned(), Arc::clone(&claims));
                claims
            }
        };
        if now >= claims.exp || now < claims.nbf {
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn claims(nbf: i64, exp: i64) -> Claims {
        Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            nbf,
            exp,
            sub: "wazuh".into(),
            uid: 1,
            run_as: false,
            rbac_roles: vec![1],
            rbac_mode: Mode::White,
            issued_ms: nbf * 1000,
        }
    }

    #[test]
    fn tokens_verify_until_they_expire_and_the_key_persists() {
        let home = tempfile::tempdir().expect("test value");
        let tokens = Tokens::open(home.path()).expect("test value");
        let now = crate::server::now();
        let token = tokens.issue(&claims(now, now + 900)).expect("test value");
        assert_eq!(tokens.verify(&token, now).expect("test value").sub, "wazuh");
        assert!(tokens.verify(&token, now + 900).is_err(), "expired");
        let again = Tokens::open(home.path()).expect("test value");
        assert!(again.verify(&token, now).is_ok(), "same key after a restart");
        let mode = std::fs::metadata(home.path().join(KEY_FILE)).expect("test value");
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777, 0o600);
        let other = Tokens::open(tempfile::tempdir().expect("test value").path()).expect("test value");
        assert!(other.verify(&token, now).is_err(), "another key's token");
    }

    #[test]
    fn none_hmac_and_tampered_tokens_are_refused() {
        let home = tempfile::tempdir().expect("test value");
        let tokens = Tokens::open(home.path()).expect("test value");
        let now = crate::server::now();
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(now, now + 900)).expect("test value"));
        let none = format!("{}.{body}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#));
        assert!(tokens.verify(&none, now).is_err());
        let hmac = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(now, now + 900),
            &EncodingKey::from_secret(b"guess"),
        )
        .expect("test value");
        assert!(tokens.verify(&hmac, now).is_err());
        let good = tokens.issue(&claims(now, now + 900)).expect("test value");
        let (head, rest) = good.split_once('.').expect("test value");
        let sig = rest.split_once('.').expect("test value").1;
        let mut forged = claims(now, now + 900);
        forged.sub = "admin".into();
        let forged =
            format!("{head}.{}.{sig}", URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).expect("test value")));
        assert!(tokens.verify(&forged, now).is_err());
        assert!(tokens.verify("garbage", now).is_err());
    }
}
