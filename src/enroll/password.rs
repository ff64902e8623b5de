//! The enrollment password (`<use_password>`, `etc/authd.pass`).

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// The shared secret agents must send. Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(Vec<u8>);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Where the password came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Read from the file.
    File,
    /// Generated and written to the file, which was missing.
    Generated,
}

/// Why the password file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The reason.
        source: std::io::Error,
    },
    /// The file exists but its first line is too short (authd: "Empty password provided").
    #[error("Empty password provided in {0}: the first line must have at least 2 characters")]
    Empty(String),
    /// The system random source failed.
    #[error("cannot generate a password: {0}")]
    Random(getrandom::Error),
}

impl Password {
    /// A password with these bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The secret itself, for the comparison and the client only.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Reads the first line of `path` (newline stripped) as authd does; when the file is
    /// missing, a random password is generated into it with mode 0600.
    pub fn load_or_generate(path: &Path) -> Result<(Self, Origin), PasswordError> {
        let io = |source| PasswordError::Io { path: path.display().to_string(), source };
        match std::fs::read(path) {
            Ok(bytes) => {
                let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                // authd keeps a line only when it is longer than 2 characters (newline included).
                if line.len() < 2 || bytes.len() <= 1 {
                    return Err(PasswordError::Empty(path.display().to_string()));
                }
                Ok((Self(line.to_vec()), Origin::File))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut raw = [0u8; 16];
                getrandom::fill(&mut raw).map_err(PasswordError::Random)?;
                let text = crate::hex::encode(&raw);
                let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io)?;
                file.write_all(format!("{text}\n").as_bytes()).map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok((Self(text.into_bytes()), Origin::Generated))
            }
            Err(e) => Err(io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn generated_once_then_read() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("authd.pass");
        let (first, origin) = Password::load_or_generate(&path)?;
        assert_eq!(origin, Origin::Generated);
        assert_eq!(first.expose().len(), 32);
        assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
        let (again, origin) = Password::load_or_generate(&path)?;
        assert_eq!((again, origin), (first.clone(), Origin::File));
        assert_eq!(format!("{first:?}"), "Password(<redacted>)");
        std::fs::write(&path, "\n")?;
        assert!(matches!(Password::load_or_generate(&path), Err(PasswordError::Empty(_))));
        std::fs::write(&path, "topsecret\nignored\n")?;
        assert_eq!(Password::load_or_generate(&path)?.0.expose(), b"topsecret");
        Ok(())
    }
}
