//! Wazuh's own stock server config must load with zero errors.

use std::path::Path;

#[test]
fn stock_wazuh_server_config_loads_without_errors() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/wazuh/etc/ossec-server.conf");
    let loaded = vigil::config::load(&path);
    let errors: Vec<String> = loaded.errors().map(ToString::to_string).collect();
    assert_eq!(errors, Vec::<String>::new());
    let c = &loaded.config;
    assert_eq!(c.alerts.log_alert_level, 3);
    assert_eq!(c.alerts.email_alert_level, 12);
    assert_eq!(c.global.email_to, ["recipient@example.wazuh.com"]);
    assert_eq!(c.global.white_list, ["127.0.0.1", "^localhost.localdomain$", "10.0.0.2"]);
    assert_eq!(c.remote.listeners.len(), 1);
    assert_eq!(c.commands.len(), 6);
    assert_eq!(c.ruleset.rule_exclude, ["0215-policy_rules.xml"]);
    assert_eq!(c.ruleset.lists.len(), 4);
    assert_eq!(
        c.ruleset.decoder_dirs.iter().map(|d| d.path.as_str()).collect::<Vec<_>>(),
        ["ruleset/decoders", "etc/decoders"]
    );
    // Agent-side sections are kept, each warned about once.
    let names: Vec<&str> = c.other.iter().map(|o| o.name.as_str()).collect();
    assert!(names.contains(&"syscheck") && names.contains(&"localfile") && names.contains(&"wodle"));
    let warnings = loaded.problems.iter().filter(|p| p.message.contains("<localfile>")).count();
    assert_eq!(warnings, 1);
}
