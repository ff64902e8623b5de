//! The stock CDB lists load from a Wazuh-shaped home and answer the lookups stock rules make.

mod common;

use common::ruleset_home::wazuh_home;
use vigil::ruleset::lists::{ListCheck, Lookup};

#[test]
fn stock_lists_answer_stock_lookups() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = wazuh_home(dir.path());
    let (ruleset, problems) = vigil::ruleset::load(dir.path(), &config, &Default::default());
    assert!(problems.iter().all(|p| !p.message.contains("1103")), "{problems:?}");
    let lists = &ruleset.lists;
    assert_eq!(lists.all().len(), 4);

    let find = |name: &str| lists.find(name).and_then(|id| lists.get(id)).unwrap_or_else(|| panic!("{name}"));
    let hashes = find("etc/lists/malicious-ioc/malware-hashes");
    assert_eq!(
        hashes.get(b"2fe6a7ae63c878bd84d7b829349b309e7c84194ddbb6a779816f5b84cd8ad45d"),
        Some(&b"DarkComet"[..])
    );
    let ips = find("etc/lists/malicious-ioc/malicious-ip.cdb");
    assert!(Lookup::AddressMatchKey.test(ips, b"196.251.85.62", None));
    assert!(!Lookup::AddressMatchKey.test(ips, b"127.0.0.1", None));
    let domains = find("etc/lists/malicious-ioc/malicious-domains");
    assert!(Lookup::MatchKey.test(domains, b"instagram.archive.com.im", None));

    // As rule 80780 and its siblings in 0365-auditd_rules.xml use audit-keys.
    let check =
        ListCheck::new("etc/lists/audit-keys", Some("audit.key"), Some("match_key_value"), Some("write"), lists)
            .expect("compiles");
    let keys = find("etc/lists/audit-keys");
    assert!(check.lookup.test(keys, b"audit-wazuh-w", check.check_value.as_ref()));
    assert!(!check.lookup.test(keys, b"audit-wazuh-r", check.check_value.as_ref()));
}
