//! `vigil enroll`: enroll with a manager as Wazuh's `agent-auth` does (same short options), for
//! scripts and tests. The key line is printed, or written as a client.keys file.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::WAZUH_VERSION;
use crate::enroll::Password;
use crate::enroll::client::{self, Answer, Enrollment};
use crate::enroll::policy::key_hash;
use crate::home::Home;
use crate::store::{KeyEntry, keys};

/// `vigil enroll` options.
#[derive(Debug, Clone, clap::Args)]
pub struct EnrollArgs {
    /// Manager address (host name or IP).
    #[arg(short = 'm', long)]
    pub manager: String,
    /// Manager enrollment port.
    #[arg(short = 'p', long, default_value_t = 1515)]
    pub port: u16,
    /// Agent name (default: this host's name without the characters names may not have).
    #[arg(short = 'A', long)]
    pub name: Option<String>,
    /// Groups, comma separated.
    #[arg(short = 'G', long)]
    pub groups: Option<String>,
    /// Enrollment password (or the VIGIL_ENROLL_PASSWORD environment variable, which keeps it
    /// out of the process list).
    #[arg(short = 'P', long, env = "VIGIL_ENROLL_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// CA the manager's certificate must chain to (default: not verified, as agents do).
    #[arg(short = 'v', long = "ca")]
    pub ca: Option<PathBuf>,
    /// Agent certificate, for managers with `<ssl_agent_ca>`.
    #[arg(short = 'x', long = "cert", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Agent certificate's private key.
    #[arg(short = 'k', long = "key", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Address to register with.
    #[arg(short = 'I', long, conflicts_with = "use_source_ip")]
    pub ip: Option<String>,
    /// Register with the address the manager sees.
    #[arg(short = 'i', long)]
    pub use_source_ip: bool,
    /// Version to announce.
    #[arg(long, default_value = WAZUH_VERSION)]
    pub agent_version: String,
    /// client.keys file to write; when it already holds a key, its hash is sent as agents do.
    #[arg(long)]
    pub keys: Option<PathBuf>,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
}

/// The host name with the characters agent names may not have removed.
fn default_name() -> String {
    crate::home::hostname().chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')).collect()
}

/// Runs `vigil enroll`: exit 0 with a key, 1 when the manager refused.
pub fn run(args: &EnrollArgs) -> anyhow::Result<ExitCode> {
    let identity = args.cert.as_deref().zip(args.key.as_deref());
    let config = Arc::new(crate::tls::client_config(args.ca.as_deref(), identity)?);
    let held = match &args.keys {
        Some(path) if path.exists() => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            keys::parse(&text).ok().and_then(|entries| {
                entries.into_iter().find_map(|e| match e {
                    KeyEntry::Active { id, name, key, .. } => Some(key_hash(id, &name, &key)),
                    KeyEntry::Removed { .. } => None,
                })
            })
        }
        _ => None,
    };
    let request = Enrollment {
        name: args.name.clone().unwrap_or_else(default_name),
        groups: args.groups.clone(),
        password: args.password.as_ref().map(|p| Password::new(p.clone().into_bytes())),
        ip: if args.use_source_ip { Some("src".to_owned()) } else { args.ip.clone() },
        version: Some(args.agent_version.clone()),
        key_hash: held,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let timeout = Duration::from_secs(args.timeout);
    let answer = runtime
        .block_on(client::enroll(config, &args.manager, args.port, &request, timeout))
        .with_context(|| format!("cannot enroll with {}:{}", args.manager, args.port))?;
    match answer {
        Answer::Key(entry) => {
            let line = entry.to_line();
            match &args.keys {
                Some(path) => {
                    Home::write_atomic(path, line.as_bytes(), 0o640)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!(
                        "Valid key received for agent {} (id {}); written to {}",
                        request.name,
                        entry.id(),
                        path.display()
                    );
                }
                None => print!("{line}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Answer::Refused(text) => {
            eprintln!("{text}");
            Ok(ExitCode::FAILURE)
        }
    }
}
