//! `vigil agents import-wazuh`: a Wazuh manager home (client.keys, etc/shared groups, wazuh-db's
//! global.db) migrates into the store once.

mod common;

use std::path::Path;

use common::{agents_json, fails, ok, scratch};

/// The columns of wazuh-db's `agent`, `group`, `belongs` and `labels` tables that matter here.
const SCHEMA: &str = "
CREATE TABLE agent (id INTEGER PRIMARY KEY, name TEXT NOT NULL, ip TEXT, register_ip TEXT, internal_key TEXT,
  os_name TEXT, os_version TEXT, os_major TEXT, os_minor TEXT, os_codename TEXT, os_build TEXT,
  os_platform TEXT, os_uname TEXT, os_arch TEXT, version TEXT, config_sum TEXT, merged_sum TEXT,
  manager_host TEXT, node_name TEXT DEFAULT 'unknown', date_add INTEGER NOT NULL, last_keepalive INTEGER,
  `group` TEXT DEFAULT 'default', group_hash TEXT, connection_status TEXT NOT NULL DEFAULT 'never_connected',
  disconnection_time INTEGER DEFAULT 0, status_code INTEGER DEFAULT 0);
CREATE TABLE labels (id INTEGER, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (id, key));
CREATE TABLE `group` (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, UNIQUE (name));
CREATE TABLE belongs (id_agent INTEGER, id_group INTEGER, priority INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (id_agent, id_group));
INSERT INTO agent (id, name, ip, register_ip, date_add, last_keepalive, connection_status)
  VALUES (0, 'manager', '127.0.0.1', '127.0.0.1', 1600000000, 253402300799, 'active');
INSERT INTO agent (id, name, ip, register_ip, internal_key, os_name, os_platform, os_arch, version, date_add,
  last_keepalive, `group`, connection_status, disconnection_time, status_code)
  VALUES (1, 'web01', '10.0.0.5', 'any', 'k1', 'Ubuntu', 'ubuntu', 'x86_64', 'Wazuh v4.14.7', 1650000000,
  1700000000, 'linux,default', 'active', 0, 0);
INSERT INTO agent (id, name, register_ip, internal_key, date_add, connection_status, disconnection_time, status_code)
  VALUES (2, 'db01', '10.0.0.7', 'k2', 1660000000, 'disconnected', 1700000100, 4);
INSERT INTO `group` (name) VALUES ('default'), ('linux');
INSERT INTO belongs (id_agent, id_group, priority) VALUES (1, 2, 0), (1, 1, 1), (2, 1, 0);
INSERT INTO labels (id, key, value) VALUES (1, 'env', 'prod');
";

fn wazuh_home(root: &Path) {
    for dir in ["etc/shared/default", "etc/shared/linux", "etc/shared/windows", "queue/db"] {
        std::fs::create_dir_all(root.join(dir)).expect("mkdir");
    }
    std::fs::write(root.join("etc/client.keys"), "001 web01 any k1\n002 db01 10.0.0.7 k2\n003 !old any k3\n")
        .expect("keys");
    let db = rusqlite::Connection::open(root.join("queue/db/global.db")).expect("sqlite");
    db.execute_batch(SCHEMA).expect("schema");
}

#[test]
fn migrates_agents_groups_dates_and_status_once() {
    let s = scratch();
    wazuh_home(&s.home);
    let out = ok(&s.home, &["agents", "import-wazuh"]);
    assert!(out.contains("Imported 2 agents, 1 removed entries and 3 groups") && out.contains("global.db"), "{out}");

    let agents = agents_json(&s.home);
    assert_eq!(agents.len(), 2);
    let web = &agents[0];
    assert_eq!(web["name"], "web01");
    assert_eq!(web["groups"], serde_json::json!(["linux", "default"]), "priority order from belongs");
    assert_eq!(web["registered_at"], "2022-04-15T05:20:00Z");
    assert_eq!(web["status"], "active");
    assert_eq!(web["last_ip"], "10.0.0.5");
    assert_eq!(web["os"]["name"], "Ubuntu");
    assert_eq!(web["version"], "Wazuh v4.14.7");
    assert_eq!(web["labels"]["env"], "prod");
    let db = &agents[1];
    assert_eq!((db["status"].as_str(), db["status_code"].as_u64()), (Some("disconnected"), Some(4)));
    assert_eq!(db["disconnected_at"], "2023-11-14T22:15:00Z");
    let windows: Vec<serde_json::Value> =
        serde_json::from_str(&ok(&s.home, &["agents", "list", "--group", "linux", "--json"])).expect("json");
    assert_eq!(windows.len(), 1);

    // Keys and the removed entry survive, so ids keep counting from 003.
    let keys = ok(&s.home, &["agents", "export-keys"]);
    assert_eq!(keys, "001 web01 any k1\n002 db01 10.0.0.7 k2\n003 !old any k3\n");
    assert!(ok(&s.home, &["agents", "add", "new01"]).contains("id 004"));

    assert!(fails(&s.home, &["agents", "import-wazuh"]).contains("refusing to import twice"));
}

#[test]
fn works_without_global_db_using_agents_timestamp() {
    let s = scratch();
    let w = s.dir.path().join("wazuh");
    std::fs::create_dir_all(w.join("etc/shared/default")).expect("mkdir");
    std::fs::create_dir_all(w.join("queue")).expect("mkdir");
    std::fs::write(w.join("etc/client.keys"), "001 web01 any k1\n").expect("keys");
    std::fs::write(w.join("queue/agents-timestamp"), "001 web01 any 2021-08-03 10:32:34\n").expect("ts");
    let out = ok(&s.home, &["agents", "import-wazuh", "--from", w.to_str().expect("utf-8")]);
    assert!(out.contains("Imported 1 agents"), "{out}");
    let agents = agents_json(&s.home);
    assert!(agents[0]["registered_at"].as_str().is_some_and(|t| t.starts_with("2021-08-0")), "{agents:?}");
}

#[test]
fn a_broken_client_keys_imports_nothing() {
    let s = scratch();
    wazuh_home(&s.home);
    std::fs::write(s.home.join("etc/client.keys"), "001 web01 any k1\n002 db 01 10.0.0.7 k2\n").expect("keys");
    let err = fails(&s.home, &["agents", "import-wazuh"]);
    assert!(err.contains("etc/client.keys") && err.contains("line 2"), "{err}");
    assert!(agents_json(&s.home).is_empty());
}
