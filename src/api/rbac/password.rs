//! API user passwords: Wazuh's policy, argon2id hashes, and random passwords for the default
//! users.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

/// Why a password is refused (Wazuh's codes 5007 and 5009).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Weak {
    /// Shorter than 8 or longer than 64 characters (5009).
    #[error("The password must contain a length between 8 and 64 characters.")]
    Length,
    /// Missing a lower case, upper case, digit or symbol (5007).
    #[error("The password must contain at least one upper and lower case letter, a number and a symbol.")]
    Classes,
}

impl Weak {
    /// Wazuh's error code.
    pub fn code(self) -> u32 {
        match self {
            Self::Length => 5009,
            Self::Classes => 5007,
        }
    }
}

/// Checks Wazuh's password policy.
pub fn check_policy(password: &str) -> Result<(), Weak> {
    let n = password.chars().count();
    if !(8..=64).contains(&n) {
        return Err(Weak::Length);
    }
    let has = |f: fn(char) -> bool| password.chars().any(f);
    if has(char::is_lowercase)
        && has(char::is_uppercase)
        && has(|c| c.is_ascii_digit())
        && has(|c| !c.is_alphanumeric())
    {
        Ok(())
    } else {
        Err(Weak::Classes)
    }
}

/// The argon2id PHC string of `password` with a fresh salt.
pub fn hash(password: &str) -> Result<String, String> {
    argon2::Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| e.to_string())
}

/// Whether `password` matches the PHC string `stored` (constant-time inside argon2).
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A random 24-character password that meets the policy.
pub fn generate() -> Result<String, getrandom::Error> {
    const CLASSES: [&[u8]; 4] = [b"abcdefghijkmnopqrstuvwxyz", b"ABCDEFGHJKLMNPQRSTUVWXYZ", b"23456789", b"*+-.?_:@"];
    let mut raw = [0u8; 24];
    getrandom::fill(&mut raw)?;
    // One of each class first, then any; the set sizes make the bias negligible for this use.
    let all: Vec<u8> = CLASSES.concat();
    let chars = raw.iter().enumerate().map(|(i, b)| {
        let set = CLASSES.get(i).copied().unwrap_or(&all);
        char::from(set[usize::from(*b) % set.len()])
    });
    Ok(chars.collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_wants_length_and_four_classes() {
        assert_eq!(check_policy("Sh0rt!"), Err(Weak::Length));
        assert_eq!(check_policy(&"Aa1!".repeat(17)), Err(Weak::Length));
        assert_eq!(check_policy("alllowercase1!"), Err(Weak::Classes));
        assert_eq!(check_policy("NoDigits!!"), Err(Weak::Classes));
        assert_eq!(check_policy("NoSymbol123"), Err(Weak::Classes));
        assert_eq!(check_policy("Wazuh12345!"), Ok(()));
    }

    #[test]
    fn hashes_verify_and_generated_passwords_pass() {
        let pw = generate().expect("test value");
        assert_eq!(check_policy(&pw), Ok(()));
        assert_ne!(pw, generate().expect("test value"));
        let stored = hash(&pw).expect("test value");
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify(&pw, &stored));
        assert!(!verify("wrong", &stored));
        assert!(!verify(&pw, "not a hash"));
    }
}
