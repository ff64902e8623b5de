//! The home directory: a `/var/ossec`-shaped tree, laid out on first start.
//!
//! An existing Wazuh home is used as it is: only what is missing is created, and no config or
//! ruleset file is ever overwritten. A new home gets vigil's default config and ruleset, a
//! self-signed ECDSA P-256 certificate for TLS, and the LMDB agent store.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::config;
use crate::store::{GroupName, Store, StoreError};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/ruleset_files.rs"));
}

/// A file of the project's `ruleset/` folder as built into the binary (`relative` to it).
pub fn embedded_file(relative: &str) -> Option<&'static [u8]> {
    embedded::FILES.iter().find(|(path, _)| *path == relative).map(|(_, bytes)| *bytes)
}

/// Where vigil looks when no `--home` is given (Wazuh's install path).
pub const DEFAULT_HOME: &str = "/var/ossec";

/// Directories of a home, created 0750 when missing.
const DIRS: &[&str] = &[
    "etc",
    "etc/shared",
    "etc/shared/default",
    "etc/rules",
    "etc/decoders",
    "etc/lists",
    "ruleset",
    "ruleset/decoders",
    "ruleset/rules",
    "logs",
    "logs/alerts",
    "logs/archives",
    "queue",
    "queue/sockets",
    "var",
    "var/run",
    "integrations",
    "active-response",
    "active-response/bin",
];

/// Filesystems LMDB must not be used on (its lock file needs local shared memory).
const REMOTE_FILESYSTEMS: &[(i64, &str)] =
    &[(0x6969, "NFS"), (0x517B, "SMB"), (0xFF53_4D42, "CIFS"), (0xFE53_4D42, "SMB2"), (0x0102_1994, "tmpfs-on-9p")];

/// Why a home cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    /// The path exists and is not a directory.
    #[error("home {0} is not a directory")]
    NotADirectory(PathBuf),
    /// vigil cannot write where it must.
    #[error("home {path} is not writable: {source}")]
    NotWritable {
        /// The directory.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// The store would sit on a network filesystem.
    #[error("home {path} is on a {kind} filesystem; the agent store (LMDB) needs a local disk")]
    RemoteFilesystem {
        /// The directory.
        path: PathBuf,
        /// Filesystem kind.
        kind: &'static str,
    },
    /// Creating part of the layout failed.
    #[error("cannot create {path}: {source}")]
    Create {
        /// What was being created.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// The TLS certificate could not be generated.
    #[error("cannot generate the TLS certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// The agent store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What [`Home::prepare`] created.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The home did not exist (or had no config) and was laid out from defaults.
    pub new_home: bool,
    /// A self-signed certificate was generated.
    pub certificate: bool,
    /// Groups found under `etc/shared/` and added to the store.
    pub groups_added: usize,
}

/// A home directory.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

fn create_error(path: &Path) -> impl FnOnce(std::io::Error) -> HomeError + '_ {
    move |source| HomeError::Create { path: path.to_owned(), source }
}

/// Writes a new file with `mode`, refusing to overwrite one.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), HomeError> {
    let mut file = OpenOptions::new().write(true).create_new(true).mode(mode).open(path).map_err(create_error(path))?;
    file.write_all(bytes).map_err(create_error(path))?;
    file.sync_all().map_err(create_error(path))
}

/// This machine's host name.
pub fn hostname() -> String {
    rustix::system::uname().nodename().to_string_lossy().into_owned()
}

impl Home {
    /// A home at `root` (nothing is touched yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The home directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A path inside the home.
    pub fn path(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.root.join(relative)
    }

    /// `etc/ossec.conf`.
    pub fn config_file(&self) -> PathBuf {
        config::path_in(&self.root)
    }

    /// `etc/client.keys`.
    pub fn client_keys(&self) -> PathBuf {
        self.path("etc/client.keys")
    }

    /// The LMDB agent store directory.
    pub fn store_dir(&self) -> PathBuf {
        self.path("var/db/vigil")
    }

    /// `var/run/vigil.pid`.
    pub fn pid_file(&self) -> PathBuf {
        self.path("var/run/vigil.pid")
    }

    /// Opens the agent store (creating it if needed).
    pub fn store(&self) -> Result<Store, StoreError> {
        Store::open(&self.store_dir())
    }

    /// Refuses a home vigil cannot run in: a file, read-only, or on a network filesystem.
    pub fn check_usable(&self) -> Result<(), HomeError> {
        let root = &self.root;
        if root.exists() && !root.is_dir() {
            return Err(HomeError::NotADirectory(root.clone()));
        }
        let not_writable = |source| HomeError::NotWritable { path: root.clone(), source };
        DirBuilder::new().recursive(true).mode(0o750).create(root).map_err(not_writable)?;
        let probe = root.join(format!(".vigil-write-test-{}", std::process::id()));
        OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&probe).map_err(not_writable)?;
        fs::remove_file(&probe).map_err(not_writable)?;
        if let Ok(stat) = rustix::fs::statfs(root.as_path()) {
            let kind = stat.f_type;
            if let Some((_, name)) = REMOTE_FILESYSTEMS.iter().find(|(magic, _)| *magic == kind) {
                return Err(HomeError::RemoteFilesystem { path: root.clone(), kind: name });
            }
        }
        Ok(())
    }

    /// Creates whatever is missing: directories, default config and ruleset (new homes only),
    /// certificate, store, and groups for the directories under `etc/shared/`.
    pub fn prepare(&self, now: i64) -> Result<Prepared, HomeError> {
        self.check_usable()?;
        let mut prepared = Prepared { new_home: !self.config_file().exists(), ..Prepared::default() };
        for dir in DIRS {
            let path = self.path(dir);
            DirBuilder::new().recursive(true).mode(0o750).create(&path).map_err(create_error(&path))?;
        }
        let db = self.path("var/db");
        DirBuilder::new().recursive(true).mode(0o700).create(&db).map_err(create_error(&db))?;
        if prepared.new_home {
            write_new(&self.config_file(), config::DEFAULT.as_bytes(), 0o640)?;
            self.install_ruleset()?;
        }
        let auth = config::load(&self.config_file()).config.auth;
        prepared.certificate = self.ensure_certificate(&auth.ssl_manager_cert, &auth.ssl_manager_key)?;
        self.link_scripts();
        let store = self.store()?;
        prepared.groups_added = self.sync_groups(&store, now)?;
        Ok(prepared)
    }

    /// Links vigil's active response scripts (the binary itself, which runs the script it is
    /// named after) into `active-response/bin/`, leaving any file already there; a failure is
    /// logged, as the server runs on without them.
    fn link_scripts(&self) {
        let Ok(exe) = std::env::current_exe() else { return };
        for name in crate::active_response::scripts::NAMES {
            let link = self.path("active-response/bin").join(name);
            if link.symlink_metadata().is_ok() {
                continue;
            }
            if let Err(e) = std::os::unix::fs::symlink(&exe, &link) {
                tracing::warn!(file = %link.display(), "cannot link the active response script: {e}");
            }
        }
    }

    /// Copies the project's ruleset into `ruleset/`, skipping files that exist.
    fn install_ruleset(&self) -> Result<(), HomeError> {
        for (relative, bytes) in embedded::FILES {
            let path = self.path("ruleset").join(relative);
            if path.exists() {
                continue;
            }
            if let Some(parent) = path.parent() {
                DirBuilder::new().recursive(true).mode(0o750).create(parent).map_err(create_error(parent))?;
            }
            write_new(&path, bytes, 0o640)?;
        }
        Ok(())
    }

    /// Generates a self-signed certificate when neither file exists. `Ok(true)` when generated.
    fn ensure_certificate(&self, cert: &str, key: &str) -> Result<bool, HomeError> {
        let (cert, key) = (self.path(cert), self.path(key));
        if cert.exists() || key.exists() {
            return Ok(false);
        }
        let names = vec![hostname(), "localhost".to_owned()];
        let certified = rcgen::generate_simple_self_signed(names)?;
        // Key first, 0600, so no window exists where it is readable by others.
        write_new(&key, certified.signing_key.serialize_pem().as_bytes(), 0o600)?;
        write_new(&cert, certified.cert.pem().as_bytes(), 0o644)?;
        Ok(true)
    }

    /// Adds a store group for each directory under `etc/shared/`.
    fn sync_groups(&self, store: &Store, now: i64) -> Result<usize, HomeError> {
        let dir = self.path("etc/shared");
        let entries = fs::read_dir(&dir).map_err(create_error(&dir))?;
        let names: Vec<GroupName> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
            .collect();
        Ok(store.write(|w| {
            let mut added = 0;
            for name in &names {
                added += usize::from(w.add_group(name, now)?);
            }
            Ok(added)
        })?)
    }

    /// Writes `contents` to `path` atomically (temporary file, fsync, rename) with `mode`.
    pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let tmp = dir.join(format!(
            ".{}.tmp{}",
            path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            std::process::id()
        ));
        let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))?;
        fs::rename(&tmp, path)
    }
}

/// Binds a local socket at `path` with `bind` (its folder created, a stale socket replaced),
/// readable and writable by owner and group only.
pub fn bind_socket<S>(path: &Path, bind: impl FnOnce(&Path) -> std::io::Result<S>) -> std::io::Result<S> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let socket = bind(path)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o660))?;
    Ok(socket)
}

/// `relative` under `home`, refused when it is absolute or climbs out with `..`: files named
/// by the configuration whose content leaves the box (credentials, templates) must be the
/// home's, not any file the service can read.
pub fn inside(home: &Path, relative: &str) -> Result<PathBuf, String> {
    let path = Path::new(relative.trim());
    let climbs =
        path.components().any(|c| !matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir));
    if relative.trim().is_empty() || climbs {
        return Err(format!("'{relative}' must be a path under the home, without '..'"));
    }
    Ok(home.join(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_home_is_laid_out_with_tight_modes() -> Result<(), HomeError> {
        let dir = tempfile::tempdir().map_err(|e| HomeError::Create { path: PathBuf::new(), source: e })?;
        let home = Home::new(dir.path().join("home"));
        let first = home.prepare(1)?;
        assert!(first.new_home && first.certificate);
        assert_eq!(first.groups_added, 1, "the default group");
        let mode = |p: PathBuf| fs::metadata(p).map(|m| m.permissions().mode() & 0o777).ok();
        assert_eq!(mode(home.path("etc/sslmanager.key")), Some(0o600));
        assert_eq!(mode(home.config_file()), Some(0o640));
        assert_eq!(mode(home.path("var/db")), Some(0o700));
        assert!(home.path("ruleset/mitre/enterprise-attack-techniques.json").is_file());
        let pem = fs::read_to_string(home.path("etc/sslmanager.cert")).unwrap_or_default();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        // A second start changes nothing.
        let again = home.prepare(2)?;
        assert_eq!(again, Prepared::default());
        Ok(())
    }

    #[test]
    fn a_file_is_not_a_home() {
        let file = tempfile::NamedTempFile::new().ok();
        let path = file.as_ref().map(|f| f.path().to_owned()).unwrap_or_default();
        assert!(matches!(Home::new(path).check_usable(), Err(HomeError::NotADirectory(_))));
    }
}
