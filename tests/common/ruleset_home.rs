//! A Wazuh-shaped home laid out over `../shared` with symbolic links (nothing is copied): the
//! stock ruleset in `ruleset/`, the test decoders and rules of `testing/ruleset/` plus the stock
//! local files in `etc/`, the lists in `etc/lists`, and Wazuh's stock server config.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// `../shared/wazuh`.
pub fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/wazuh").canonicalize().expect("../shared/wazuh exists")
}

/// Lays the home out in `root` and returns the loaded config's ruleset section.
pub fn wazuh_home(root: &Path) -> vigil::config::Ruleset {
    lay_out(root, false);
    load_config().ruleset
}

/// Wazuh's stock server configuration.
pub fn load_config() -> vigil::config::Config {
    vigil::config::load(&shared().join("etc/ossec-server.conf")).config
}

/// Rule 60000 as Wazuh's test runner rewrites it: Windows events arrive as plain JSON.
fn windows_switch(xml: &str) -> String {
    let from = "<category>ossec</category>\n    <decoded_as>windows_eventchannel</decoded_as>";
    assert!(xml.contains(from), "rule 60000 is as expected");
    xml.replacen(from, "<decoded_as>json</decoded_as>", 1)
}

/// Lays the home out; with `switch`, `ruleset/rules` is a directory of links in which
/// 0575-win-base_rules.xml is a rewritten copy (rule 60000 decoded as JSON), as runtests.py
/// does unless given `-s`. Also writes `etc/ossec.conf` (Wazuh's stock server config).
pub fn lay_out(root: &Path, switch: bool) {
    let shared = shared();
    for dir in ["ruleset", "etc/decoders", "etc/rules"] {
        std::fs::create_dir_all(root.join(dir)).expect("mkdir");
    }
    std::fs::copy(shared.join("etc/ossec-server.conf"), root.join("etc/ossec.conf")).expect("ossec.conf");
    symlink(shared.join("ruleset/decoders"), root.join("ruleset/decoders")).expect("link decoders");
    if switch {
        std::fs::create_dir_all(root.join("ruleset/rules")).expect("mkdir rules");
        for entry in std::fs::read_dir(shared.join("ruleset/rules")).expect("rules").flatten() {
            let name = entry.file_name();
            let target = root.join("ruleset/rules").join(&name);
            if name == "0575-win-base_rules.xml" {
                let xml = std::fs::read_to_string(entry.path()).expect("read 0575");
                std::fs::write(target, windows_switch(&xml)).expect("write 0575");
            } else {
                symlink(entry.path(), target).expect("link rule file");
            }
        }
    } else {
        symlink(shared.join("ruleset/rules"), root.join("ruleset/rules")).expect("link rules");
    }
    symlink(shared.join("ruleset/lists"), root.join("etc/lists")).expect("link lists");
    symlink(shared.join("etc/local_decoder.xml"), root.join("etc/decoders/local_decoder.xml")).expect("link");
    symlink(shared.join("etc/local_rules.xml"), root.join("etc/rules/local_rules.xml")).expect("link");
    for entry in std::fs::read_dir(shared.join("ruleset/testing/ruleset")).expect("testing/ruleset").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let dir = if name.ends_with("_decoders.xml") { "etc/decoders" } else { "etc/rules" };
        symlink(entry.path(), root.join(dir).join(&name)).expect("link test file");
    }
}

/// One log of an ini test file.
#[derive(Debug, Clone)]
pub struct Case {
    pub file: String,
    pub section: String,
    pub key: String,
    pub log: String,
    pub pass: bool,
    pub rule: String,
    pub alert: String,
    pub decoder: String,
}

/// Reads a Wazuh ruleset test file (Python configparser syntax: `[section]`, `key = value`,
/// values trimmed, `;`/`#` comments).
pub fn read_ini(path: &Path) -> Vec<Case> {
    let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let text = std::fs::read_to_string(path).expect("read ini");
    let mut cases: Vec<Case> = Vec::new();
    let mut section = String::new();
    let mut pending: Vec<Case> = Vec::new();
    let flush = |pending: &mut Vec<Case>, cases: &mut Vec<Case>| cases.append(pending);
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with(';') || trimmed.starts_with('#') {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            flush(&mut pending, &mut cases);
            section = name.to_owned();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim().to_owned(), value.trim().to_owned());
        if let Some(rest) = key.strip_prefix("log ") {
            pending.push(Case {
                file: file.clone(),
                section: section.clone(),
                key: key.clone(),
                log: value,
                pass: rest.ends_with("pass"),
                rule: String::new(),
                alert: String::new(),
                decoder: String::new(),
            });
        } else {
            for case in &mut pending {
                match key.as_str() {
                    "rule" => case.rule.clone_from(&value),
                    "alert" => case.alert.clone_from(&value),
                    "decoder" => case.decoder.clone_from(&value),
                    _ => {}
                }
            }
        }
    }
    flush(&mut pending, &mut cases);
    cases
}
