use std::path::Path;
use std::time::Duration;

use super::*;

fn parse_ok(text: &str) -> Config {
    let loaded = parse(text, Path::new("test.conf"));
    let errors: Vec<String> = loaded.errors().map(ToString::to_string).collect();
    assert!(errors.is_empty(), "unexpected errors: {errors:?}");
    loaded.config
}

fn problems(text: &str) -> Vec<(u32, Severity, String)> {
    parse(text, Path::new("test.conf")).problems.into_iter().map(|p| (p.line, p.severity, p.message)).collect()
}

#[test]
fn defaults_are_wazuh_code_defaults() {
    let c = parse_ok("<ossec_config></ossec_config>");
    assert_eq!(c.alerts.log_alert_level, 1);
    assert_eq!(c.alerts.email_alert_level, 7);
    assert_eq!(c.global.agents_disconnection_time, Duration::from_secs(900));
    assert!(c.global.jsonout_output && c.global.alerts_log && !c.global.logall);
    assert!(!c.auth.remote_enrollment, "no <auth> block: no network enrollment, as in Wazuh");
    assert!(c.cluster.disabled);
    assert!(!c.indexer.enabled);
    assert_eq!(c.ruleset.rule_dirs[0].path, "ruleset/rules");
    assert_eq!(c.rule_test.session_timeout, Duration::from_secs(900));
}

#[test]
fn vigil_default_config_has_no_problems() {
    let loaded = parse(DEFAULT, Path::new("config/ossec.conf"));
    assert_eq!(loaded.problems, Vec::new());
    let c = loaded.config;
    assert_eq!(c.remote.listeners.len(), 1);
    assert_eq!(c.remote.listeners[0].port, 1514);
    assert!(c.auth.remote_enrollment && c.auth.purge);
    assert_eq!(c.auth.port, 1515);
    assert_eq!(c.alerts.log_alert_level, 3);
}

#[test]
fn blocks_merge_in_order() {
    let c = parse_ok(
        "<ossec_config><global><logall>yes</logall><email_to>a@b.c</email_to></global></ossec_config>\n\
         <ossec_config><global><logall>no</logall><email_to>d@e.f</email_to></global>\n\
         <remote><connection>syslog</connection><protocol>udp</protocol><allowed-ips>10.0.0.0/8</allowed-ips></remote>\n\
         <remote><connection>secure</connection><port>1600</port><protocol>tcp,udp</protocol></remote></ossec_config>",
    );
    assert!(!c.global.logall, "the later scalar wins");
    assert_eq!(c.global.email_to, ["a@b.c", "d@e.f"], "lists accumulate");
    assert_eq!(c.remote.listeners.len(), 2);
    assert_eq!((c.remote.listeners[0].port, c.remote.listeners[0].udp), (514, true));
    assert_eq!((c.remote.listeners[1].port, c.remote.listeners[1].tcp, c.remote.listeners[1].udp), (1600, true, true));
}

#[test]
fn bad_values_are_errors_with_lines() {
    let found = problems(
        "<ossec_config>\n<global>\n<logall>maybe</logall>\n<bogus>1</bogus>\n</global>\n\
         <alerts><log_alert_level> 3 </log_alert_level></alerts>\n<remote><port>1514</port></remote>\n</ossec_config>",
    );
    assert_eq!(
        found,
        vec![
            (3, Severity::Error, "Invalid value for element 'logall': maybe.".to_owned()),
            (4, Severity::Error, "Invalid element in the configuration: 'bogus'.".to_owned()),
            (6, Severity::Error, "Invalid value for element 'log_alert_level':  3 .".to_owned()),
            (7, Severity::Error, "No remote connection configured.".to_owned()),
        ]
    );
}

#[test]
fn unknown_sections_are_kept_and_warned_once() {
    let loaded = parse(
        "<ossec_config><syscheck><disabled>no</disabled></syscheck><syscheck/><wodle name=\"x\"/></ossec_config>",
        Path::new("t"),
    );
    assert_eq!(loaded.errors().count(), 0);
    assert_eq!(loaded.problems.len(), 2, "{:?}", loaded.problems);
    assert_eq!(loaded.config.other.len(), 3);
}

#[test]
fn empty_known_section_is_an_error_as_in_wazuh() {
    assert_eq!(problems("<ossec_config><global/></ossec_config>").len(), 1);
}

#[test]
fn broken_xml_is_one_error() {
    let found = problems("<ossec_config>\n<global>\n</ossec_config>");
    assert_eq!(found, vec![(3, Severity::Error, "XMLERR: Element 'global' not closed.".to_owned())]);
}

#[test]
fn auth_force_and_legacy() {
    let c = parse_ok(
        "<ossec_config><auth><force><enabled>no</enabled><disconnected_time enabled=\"no\">1h</disconnected_time>\
         </force><ciphers>HIGH</ciphers></auth></ossec_config>",
    );
    assert!(!c.auth.force.enabled);
    assert_eq!(c.auth.force.disconnected_time, None);
    assert_eq!(c.auth.ciphers, "HIGH");
    let c = parse(
        "<ossec_config><auth><force_insert>no</force_insert><force_time>0</force_time></auth></ossec_config>",
        Path::new("t"),
    )
    .config;
    assert!(!c.auth.force.enabled);
    assert_eq!(c.auth.force.disconnected_time, None);
    let found =
        problems("<ossec_config><auth><force><disconnected_time>1h</disconnected_time></force></auth></ossec_config>");
    assert_eq!(found[0].2, "Empty attribute for disconnected_time.");
}

#[test]
fn auth_connection_limits() {
    let c = parse_ok(
        "<ossec_config><auth><max_handshakes>10</max_handshakes><max_handshakes_per_ip>2</max_handshakes_per_ip>\
         <rate_limit>0</rate_limit><request_timeout>1m</request_timeout><max_request_size>4096</max_request_size>\
         </auth></ossec_config>",
    );
    let l = c.auth.limits;
    assert_eq!((l.max_handshakes, l.max_handshakes_per_ip, l.rate_per_ip, l.max_request), (10, 2, 0, 4096));
    assert_eq!(l.timeout.as_secs(), 60);
    assert_eq!(parse_ok("<ossec_config><auth></auth></ossec_config>").auth.limits, auth::DEFAULT_LIMITS);
    for bad in [
        "<max_handshakes>0</max_handshakes>",
        "<request_timeout>0</request_timeout>",
        "<max_request_size>1</max_request_size>",
    ] {
        let found = problems(&format!("<ossec_config><auth>{bad}</auth></ossec_config>"));
        assert_eq!(found.len(), 1, "{bad}");
    }
}

#[test]
fn active_response_needs_an_earlier_command() {
    let c = parse_ok(
        "<ossec_config><command><name>firewall-drop</name><executable>firewall-drop</executable>\
         <timeout_allowed>yes</timeout_allowed></command>\
         <active-response><command>firewall-drop</command><location>local</location><level>7</level>\
         <timeout>600</timeout></active-response></ossec_config>",
    );
    assert_eq!(c.active_responses.len(), 1);
    assert!(c.active_responses[0].location.local);
    assert_eq!(c.active_responses[0].timeout, 600);
    let found = problems(
        "<ossec_config><active-response><command>nope</command><location>all</location></active-response></ossec_config>",
    );
    assert_eq!(found[0].2, "Invalid command 'nope' in the active response.");
}

#[test]
fn secrets_are_not_shown() {
    let c = parse_ok(
        "<ossec_config><integration><name>slack</name><api_key>s3cr3t</api_key><rule_id>1,2 x3</rule_id>\
         </integration></ossec_config>",
    );
    assert_eq!(c.integrations[0].rule_id, [1, 2]);
    let shown = serde_json::to_string(&c).unwrap_or_default();
    assert!(!shown.contains("s3cr3t") && shown.contains("<redacted>"));
    assert!(!format!("{c:?}").contains("s3cr3t"));
}

#[test]
fn vigil_additions_live_inside_wazuh_sections() {
    let c = parse_ok(
        "<ossec_config><cluster><name>c1</name><node_name>n1</node_name><disabled>no</disabled>\
         <nats><url>tls://127.0.0.1:4222</url><ca>etc/nats-ca.pem</ca></nats></cluster>\
         <indexer><enabled>yes</enabled><hosts><host>https://127.0.0.1:9200</host></hosts>\
         <shipper><batch_docs>500</batch_docs></shipper></indexer></ossec_config>",
    );
    assert_eq!(c.cluster.nats.urls, ["tls://127.0.0.1:4222"]);
    assert!(!c.cluster.disabled);
    assert_eq!(c.indexer.hosts, ["https://127.0.0.1:9200"]);
    assert_eq!(c.indexer.shipper.batch_docs, 500);
}

proptest::proptest! {
    #[test]
    fn never_panics(section in "(global|remote|auth|ruleset|alerts|cluster|indexer|rule_test|logging)",
                    element in "[a-z_]{1,12}", value in "[ -~]{0,12}") {
        let text = format!("<ossec_config><{section}><{element}>{value}</{element}></{section}></ossec_config>");
        let _ = parse(&text, Path::new("t"));
    }
}

#[test]
fn correlation_limits_read_with_floors() {
    let c = parse_ok(
        "<ossec_config><global><memory_size>100</memory_size><correlation_keys>10</correlation_keys></global></ossec_config>",
    );
    assert_eq!((c.global.memory_size, c.global.correlation_keys), (2048, 1024), "both have a floor");
    let c = parse_ok("<ossec_config><global><correlation_keys>200000</correlation_keys></global></ossec_config>");
    assert_eq!(c.global.correlation_keys, 200_000);
    assert_eq!(parse_ok("<ossec_config></ossec_config>").global.correlation_keys, 65_536);
}
