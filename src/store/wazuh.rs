//! One-time migration of an existing Wazuh manager's agents into the store.
//!
//! Reads `etc/client.keys` (ids, names, addresses, keys, removed entries), the group directories
//! under `etc/shared/`, and, when present, wazuh-db's `queue/db/global.db` (registration dates,
//! status, OS, version, groups in priority order, labels) or else `queue/agents-timestamp` for
//! registration dates. Everything lands in one transaction; a second run is refused.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::{Agent, AgentId, GroupName, KeyEntry, KeysError, Os, Status, Store, StoreError, keys};

/// Metadata key recording when the migration ran.
const IMPORTED: &str = "wazuh_import";

/// Why the migration stopped; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The migration already ran on this store.
    #[error("agents were already imported from a Wazuh home (at {0}); refusing to import twice")]
    AlreadyDone(String),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// client.keys has a bad line.
    #[error("{path}: {source}")]
    Keys {
        /// The file.
        path: PathBuf,
        /// The bad line.
        source: KeysError,
    },
    /// global.db could not be queried.
    #[error("{path}: {source}")]
    Db {
        /// The database.
        path: PathBuf,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// The store refused the data (duplicate name or id, I/O).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the migration brought in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Imported {
    /// Registered agents.
    pub agents: usize,
    /// Removed entries kept for id allocation.
    pub removed: usize,
    /// Groups.
    pub groups: usize,
    /// Whether wazuh-db's global.db was found and used.
    pub used_global_db: bool,
}

/// What wazuh-db knows about one agent beyond client.keys.
#[derive(Debug, Default)]
struct DbAgent {
    registered_at: Option<i64>,
    last_keepalive: Option<i64>,
    disconnected_at: Option<i64>,
    status: Option<Status>,
    status_code: u8,
    last_ip: Option<String>,
    version: Option<String>,
    os: Os,
    config_sum: Option<String>,
    merged_sum: Option<String>,
    node_name: Option<String>,
    groups: Vec<String>,
    labels: Vec<(String, String)>,
}

/// Migrates agents and groups from the Wazuh installation at `wazuh_home` into `store`.
pub fn import(store: &Store, wazuh_home: &Path, now: i64) -> Result<Imported, ImportError> {
    if let Some(at) = store.meta(IMPORTED)? {
        return Err(ImportError::AlreadyDone(String::from_utf8_lossy(&at).into_owned()));
    }
    let keys_path = wazuh_home.join("etc/client.keys");
    let text =
        std::fs::read_to_string(&keys_path).map_err(|source| ImportError::Read { path: keys_path.clone(), source })?;
    let entries = keys::parse(&text).map_err(|source| ImportError::Keys { path: keys_path, source })?;

    let db_path = wazuh_home.join("queue/db/global.db");
    let db = if db_path.exists() {
        read_global_db(&db_path).map_err(|source| ImportError::Db { path: db_path, source })?
    } else {
        HashMap::new()
    };
    let timestamps = read_timestamps(&wazuh_home.join("queue/agents-timestamp"));
    let mut groups = shared_groups(&wazuh_home.join("etc/shared"));
    groups.extend(db.values().flat_map(|a| a.groups.iter()).filter_map(|g| g.parse::<GroupName>().ok()));
    groups.sort();
    groups.dedup();

    let mut imported = Imported { used_global_db: !db.is_empty(), groups: groups.len(), ..Imported::default() };
    store.write(|w| {
        for group in &groups {
            w.add_group(group, now)?;
        }
        for entry in &entries {
            let KeyEntry::Active { id, name, ip, key } = entry else {
                w.import_entry(entry, now)?;
                imported.removed += 1;
                continue;
            };
            let registered = timestamps.get(id).copied().unwrap_or(now);
            let mut agent = Agent::new(*id, name.clone(), ip.clone(), key.clone(), registered);
            if let Some(row) = db.get(id) {
                apply_db_row(&mut agent, row);
            }
            w.insert(&agent)?;
            imported.agents += 1;
        }
        w.set_meta(IMPORTED, now.to_string().as_bytes())
    })?;
    Ok(imported)
}

fn apply_db_row(agent: &mut Agent, row: &DbAgent) {
    if let Some(t) = row.registered_at.filter(|t| *t > 0) {
        agent.registered_at = t;
    }
    agent.last_keepalive = row.last_keepalive;
    agent.disconnected_at = row.disconnected_at.filter(|t| *t > 0);
    agent.status = row.status.unwrap_or(Status::NeverConnected);
    agent.status_code = row.status_code;
    agent.last_ip.clone_from(&row.last_ip);
    agent.version.clone_from(&row.version);
    agent.os = row.os.clone();
    agent.config_sum.clone_from(&row.config_sum);
    agent.merged_sum.clone_from(&row.merged_sum);
    agent.node_name.clone_from(&row.node_name);
    agent.groups = row.groups.iter().filter_map(|g| g.parse().ok()).collect();
    agent.labels = row.labels.iter().cloned().collect();
}

/// Directories under `etc/shared/` are Wazuh's groups.
fn shared_groups(dir: &Path) -> Vec<GroupName> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    read.filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .collect()
}

/// `queue/agents-timestamp`: `<id> <name> <ip> YYYY-MM-DD HH:MM:SS` in local time.
fn read_timestamps(path: &Path) -> HashMap<AgentId, i64> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return HashMap::new();
    };
    let tz = jiff::tz::TimeZone::system();
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(4, ' ');
            let id: AgentId = parts.next()?.parse().ok()?;
            let when = parts.nth(2)?;
            let civil: jiff::civil::DateTime = when.replacen(' ', "T", 1).parse().ok()?;
            Some((id, civil.to_zoned_datetime(tz.clone()).ok()?.timestamp().as_second()))
        })
        .collect()
}

fn read_global_db(path: &Path) -> Result<HashMap<AgentId, DbAgent>, rusqlite::Error> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    let mut agents = HashMap::new();
    let mut stmt = conn.prepare(
        "SELECT id, date_add, last_keepalive, disconnection_time, connection_status, status_code, ip, version, \
         os_name, os_version, os_major, os_minor, os_codename, os_build, os_platform, os_uname, os_arch, \
         config_sum, merged_sum, node_name FROM agent WHERE id > 0",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let Some(id) = u32::try_from(row.get::<_, i64>(0)?).ok().and_then(AgentId::new) else {
            continue;
        };
        let status: Option<String> = row.get(4)?;
        agents.insert(
            id,
            DbAgent {
                registered_at: row.get(1)?,
                last_keepalive: row.get(2)?,
                disconnected_at: row.get(3)?,
                status: status.and_then(|s| s.parse().ok()),
                status_code: row.get::<_, Option<i64>>(5)?.and_then(|c| u8::try_from(c).ok()).unwrap_or(0),
                last_ip: row.get(6)?,
                version: row.get(7)?,
                os: Os {
                    name: row.get(8)?,
                    version: row.get(9)?,
                    major: row.get(10)?,
                    minor: row.get(11)?,
                    codename: row.get(12)?,
                    build: row.get(13)?,
                    platform: row.get(14)?,
                    uname: row.get(15)?,
                    arch: row.get(16)?,
                },
                config_sum: row.get(17)?,
                merged_sum: row.get(18)?,
                node_name: row.get(19)?,
                groups: Vec::new(),
                labels: Vec::new(),
            },
        );
    }
    let has_table = |name: &str| -> Result<bool, rusqlite::Error> {
        conn.query_row("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1", [name], |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
    };
    if has_table("belongs")? {
        let mut stmt = conn.prepare(
            "SELECT b.id_agent, g.name FROM belongs b JOIN `group` g ON g.id = b.id_group ORDER BY b.id_agent, b.priority",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let id = u32::try_from(row.get::<_, i64>(0)?).ok().and_then(AgentId::new);
            if let Some(agent) = id.and_then(|id| agents.get_mut(&id)) {
                agent.groups.push(row.get(1)?);
            }
        }
    }
    if has_table("labels")? {
        let mut stmt = conn.prepare("SELECT id, key, value FROM labels ORDER BY id, key")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let id = u32::try_from(row.get::<_, i64>(0)?).ok().and_then(AgentId::new);
            if let Some(agent) = id.and_then(|id| agents.get_mut(&id)) {
                agent.labels.push((row.get(1)?, row.get(2)?));
            }
        }
    }
    Ok(agents)
}
