//! Integrations and active response on a running `vigil serve`, against real HTTP servers on
//! 127.0.0.1 that check each payload as the service's API would (and answer 429, 503, HTML or
//! nothing at all to exercise retries, dead letters and the circuit breaker), a custom script,
//! VirusTotal's answer fed back into the engine (rule 87105), server-side scripts run with
//! execd's protocol (check_keys, abort, delete after the timeout), vigil's host-deny, and an
//! active response delivered to a connected agent.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use common::agent::{Connection, KEEPALIVE, add_agent};
use common::http_mock::{Mock, Received, Reply};
use common::server::{log, replace_block, serve_prepared_with, wait_for};
use serde_json::Value;
use vigil::secmsg::Cipher;

const RULES: &str = r#"<group name="vigil_test,">
  <rule id="100200" level="10">
    <match>vigil-it</match>
    <description>Integration test alert</description>
    <group>pci_dss_10.2.4,</group>
  </rule>
  <rule id="100201" level="8">
    <match>vigil-agent-ar</match>
    <description>Agent active response test</description>
  </rule>
</group>
"#;

/// A hostile log: quotes, shell and template syntax, Jira markup.
const HOSTILE: &str = r#"vigil-it "quoted" 'single' $(rule.level) `id` *bold* {noformat} \ end"#;

const MD5: &str = "44d88612fea8a8f36de82e1278abb02f";

fn alerts(home: &Path) -> Vec<Value> {
    std::fs::read_to_string(home.join("logs/alerts/alerts.json"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn executable(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("dir")).expect("dir");
    std::fs::write(path, text).expect("script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o750)).expect("mode");
}

fn is_str(v: &Value) -> bool {
    v.as_str().is_some_and(|s| !s.is_empty())
}

/// What each service's API accepts (the fields its documentation requires), and the faults.
fn respond(r: &Received, all: &[Received]) -> Reply {
    let j = r.json();
    let seen = |prefix: &str| all.iter().filter(|x| x.path.starts_with(prefix)).count();
    let bad = |why: &str| Reply::new(400, &format!(r#"{{"error":"{why}"}}"#));
    if r.path.starts_with("/slack") {
        let a = &j["attachments"][0];
        if !is_str(&a["title"]) || !["good", "warning", "danger"].contains(&a["color"].as_str().unwrap_or("")) {
            return bad("invalid_attachments");
        }
        if seen("/slack") == 1 {
            let mut busy = Reply::new(429, "rate_limited");
            busy.headers.push(("retry-after", "1".into()));
            return busy;
        }
        return Reply::new(200, "ok");
    }
    if r.path.starts_with("/pd/") {
        let p = &j["payload"];
        let severities = ["critical", "error", "warning", "info"];
        if j["routing_key"] != "PDKEY"
            || j["event_action"] != "trigger"
            || !is_str(&p["summary"])
            || !is_str(&p["source"])
            || !severities.contains(&p["severity"].as_str().unwrap_or(""))
        {
            return bad("Event object is invalid");
        }
        if seen("/pd/") == 1 {
            return Reply::new(503, "<html><body>Service Unavailable</body></html>");
        }
        return Reply::new(202, r#"{"status":"success","message":"Event processed","dedup_key":"d1"}"#);
    }
    if r.path.starts_with("/shuffle") {
        if !j["all_fields"].is_object() || !(1..=3).contains(&j["severity"].as_u64().unwrap_or(0)) {
            return bad("bad message");
        }
        return Reply::new(200, r#"{"success":true}"#);
    }
    if r.path == "/jira/rest/api/2/issue" {
        let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("bob:jira-token"));
        if r.headers.get("authorization") != Some(&basic) {
            return Reply::new(401, r#"{"errorMessages":["unauthorized"]}"#);
        }
        let f = &j["fields"];
        let summary = f["summary"].as_str().unwrap_or("");
        if f["project"]["key"] != "SEC"
            || f["issuetype"]["name"] != "Task"
            || summary.is_empty()
            || summary.contains('\n')
            || summary.len() > 255
        {
            return bad("fields");
        }
        return Reply::new(201, r#"{"id":"10000","key":"SEC-1","self":"http://jira/rest/api/2/issue/10000"}"#);
    }
    if r.path.starts_with("/snow/api/now/table/incident") {
        if r.method == "POST" && is_str(&j["short_description"]) && is_str(&j["correlation_id"]) {
            return Reply::new(
                201,
                r#"{"result":{"sys_id":"0123456789abcdef0123456789abcdef","number":"INC0010001"}}"#,
            );
        }
        if r.method == "PATCH" && r.path.ends_with("/0123456789abcdef0123456789abcdef") && is_str(&j["work_notes"]) {
            return Reply::new(200, r#"{"result":{"sys_id":"0123456789abcdef0123456789abcdef"}}"#);
        }
        return bad("Invalid table operation");
    }
    if r.path.starts_with("/teams") {
        let facts = j["sections"][0]["facts"].as_array().map_or(0, Vec::len);
        return if j["@type"] == "MessageCard" && facts > 0 { Reply::new(200, "1") } else { bad("card") };
    }
    if r.path.starts_with("/hook") {
        return if is_str(&j["text"]) { Reply::new(200, "{}") } else { bad("template") };
    }
    if r.path.starts_with("/html") {
        let mut page = Reply::new(404, "<!DOCTYPE html>\n<html><body><h1>Not Found</h1></body></html>");
        page.headers = vec![("content-type", "text/html".into())];
        return page;
    }
    if r.path.starts_with("/hang") {
        let mut hang = Reply::new(200, "{}");
        hang.delay = Duration::from_secs(120);
        return hang;
    }
    if r.path.starts_with("/vt/vtapi/v2/file/report") {
        if !r.path.contains("apikey=VTKEY") || !r.path.contains(&format!("resource={MD5}")) {
            return Reply::new(403, "");
        }
        return Reply::new(
            200,
            r#"{"response_code":1,"positives":5,"total":70,"sha1":"3395856ce81f2b7382dee72602f798b642f14140","scan_date":"2026-11-28 10:00:00","permalink":"https://www.virustotal.com/x"}"#,
        );
    }
    Reply::new(404, "no such endpoint")
}

fn integrations(mock: &Mock, home: &Path) -> String {
    let block = |name: &str, inner: &str| format!("<integration><name>{name}</name>{inner}</integration>");
    let it = "<rule_id>100200</rule_id><alert_format>json</alert_format>";
    std::fs::write(
        home.join("etc/hook.json"),
        r#"{"text": "$(rule.description): $(full_log)", "level": "$(rule.level)"}"#,
    )
    .expect("template");
    std::fs::write(home.join("etc/jira.cred"), "bob:jira-token\n").expect("credentials");
    [
        block("slack", &format!("<hook_url>{}</hook_url><level>10</level><group>web,vigil_test</group><alert_format>json</alert_format><options>{{\"channel\":\"#soc\"}}</options>", mock.url("/slack/T0/B0"))),
        block("pagerduty", &format!("<hook_url>{}</hook_url><api_key>PDKEY</api_key>{it}", mock.url("/pd/v2/enqueue"))),
        block("shuffle", &format!("<hook_url>{}</hook_url>{it}", mock.url("/shuffle/hook"))),
        block("jira", &format!("<hook_url>{}</hook_url><credentials_file>etc/jira.cred</credentials_file><project>SEC</project>{it}", mock.url("/jira"))),
        block("servicenow", &format!("<hook_url>{}</hook_url><api_key>admin:snow</api_key>{it}", mock.url("/snow"))),
        block("teams", &format!("<hook_url>{}</hook_url>{it}", mock.url("/teams"))),
        block("webhook", &format!("<hook_url>{}</hook_url><template>etc/hook.json</template>{it}", mock.url("/hook"))),
        block("webhook", &format!("<hook_url>{}</hook_url>{it}", mock.url("/html"))),
        block("webhook", &format!("<hook_url>{}</hook_url><timeout>1</timeout>{it}", mock.url("/hang"))),
        block("virustotal", &format!("<hook_url>{}</hook_url><api_key>VTKEY</api_key><group>syscheck</group>", mock.url("/vt"))),
        block("custom-record", &format!("<api_key>k3y</api_key><hook_url>http://x</hook_url>{it}")),
        block("custom-legacy", "<rule_id>100200</rule_id><max_log>165</max_log>"),
        block("custom-hang", "<rule_id>100200</rule_id><timeout>1</timeout><retries>1</retries>"),
    ]
    .concat()
}

const ACTIVE_RESPONSES: &str = "<command><name>test-ar</name><executable>test-ar</executable><timeout_allowed>yes</timeout_allowed></command>\
    <active-response><command>test-ar</command><location>server</location><rules_id>100200</rules_id><timeout>2</timeout></active-response>\
    <active-response><command>host-deny</command><location>server</location><rules_id>5710</rules_id><timeout>10</timeout></active-response>\
    <active-response><command>firewall-drop</command><location>local</location><rules_id>100201</rules_id><timeout>600</timeout></active-response>";

#[test]
fn integrations_and_active_responses_deliver_what_each_service_accepts() {
    let mock = Mock::start(Arc::new(respond));
    let records = tempfile::tempdir().expect("tempdir");
    let rec = records.path().to_owned();
    let hosts_deny = rec.join("hosts.deny");
    std::fs::write(&hosts_deny, "sshd: 192.0.2.1\n").expect("hosts.deny");
    let mut agents = Vec::new();
    // The server's scripts inherit the variable: vigil's host-deny edits this file instead of
    // /etc/hosts.deny.
    let env = [("VIGIL_HOSTS_DENY", hosts_deny.as_os_str())];
    let server = serve_prepared_with("Active response started", &env, |home, port, config| {
        // Wazuh's ruleset, for sshd's 5710 and VirusTotal's 87100-87106.
        let ruleset = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/wazuh/ruleset");
        common::ok(home, &["ruleset", "import-wazuh", ruleset.to_str().expect("utf-8 path")]);
        std::fs::write(home.join("etc/rules/vigil_test.xml"), RULES).expect("rules");
        executable(
            &home.join("integrations/custom-record"),
            &format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > {0}/args\ncat \"$1\" > {0}/alert\n", rec.display()),
        );
        executable(
            &home.join("integrations/custom-legacy"),
            &format!("#!/bin/sh\ncat \"$1\" > {0}/legacy\n", rec.display()),
        );
        executable(&home.join("integrations/custom-hang"), "#!/bin/sh\nexec sleep 60\n");
        executable(
            &home.join("active-response/bin/test-ar"),
            &format!(
                "#!/bin/sh\nread -r line\nprintf '%s\\n' \"$line\" >> {0}/ar.log\ncase \"$line\" in *'\"command\":\"add\"'*)\n\
                 echo '{{\"version\":1,\"origin\":{{\"name\":\"test-ar\",\"module\":\"active-response\"}},\"command\":\"check_keys\",\"parameters\":{{\"keys\":[\"k1\"]}}}}'\n\
                 read -r answer\nprintf '%s\\n' \"$answer\" >> {0}/ar.log;;\nesac\n",
                rec.display()
            ),
        );
        agents.push(add_agent(home, "web01", Cipher::Aes));
        let remote =
            format!("<remote><connection>secure</connection><port>{port}</port><protocol>tcp</protocol></remote>");
        let config =
            replace_block(&config, "remote", &remote).replace("<disabled>no</disabled>", "<disabled>yes</disabled>");
        format!("{config}<ossec_config>{}{ACTIVE_RESPONSES}</ossec_config>\n", integrations(&mock, home))
    });
    let home = server.home().to_owned();
    let ossec_log = log(&home);
    assert!(ossec_log.contains("Enabling integration for: 'custom-record'"), "{ossec_log}");

    let queue = home.join("queue/sockets/queue");
    let sender = UnixDatagram::unbound().expect("socket");
    let send = |line: &str| sender.send_to(line.as_bytes(), &queue).expect("send");
    send(&format!("1:/var/log/app.log:{HOSTILE}"));
    send(&format!("1:/var/log/app.log:{HOSTILE} again"));
    send("1:/var/log/auth.log:Nov 27 12:00:00 web01 sshd[99]: Invalid user admin from 198.51.100.7 port 40000");
    send(&format!(
        r#"8:syscheck:{{"type":"event","data":{{"path":"/tmp/eicar","mode":"realtime","type":"added","timestamp":1700000000,"attributes":{{"type":"file","size":68,"perm":"rw-r--r--","uid":"0","gid":"0","user_name":"root","group_name":"root","inode":9,"mtime":1700000000,"hash_md5":"{MD5}","hash_sha1":"3395856ce81f2b7382dee72602f798b642f14140","hash_sha256":"x","checksum":"c"}}}}}}"#
    ));

    // vigil's host-deny: the source of the sshd alert blocked.
    wait_for("host-deny", Duration::from_secs(10), || {
        std::fs::read_to_string(&hosts_deny).unwrap_or_default().contains("ALL:198.51.100.7")
    });

    // Every service got both test alerts, once each, in a shape it accepts (retries included).
    wait_for("the deliveries", Duration::from_secs(30), || {
        [("/slack", 3), ("/pd/", 3), ("/shuffle", 2), ("/jira", 2), ("/teams", 2), ("/hook", 2), ("/snow", 2)]
            .iter()
            .all(|(p, n)| mock.requests(p).len() >= *n)
    });
    let slack = mock.requests("/slack");
    assert_eq!(slack.len(), 3, "a 429, then both alerts (5710 is below the level, 87105 in no group listed)");
    let texts: Vec<String> =
        slack.iter().filter_map(|r| r.json()["attachments"][0]["text"].as_str().map(str::to_owned)).collect();
    assert!(
        texts.contains(&format!("{HOSTILE} again")) && texts.contains(&HOSTILE.to_owned()),
        "hostile text arrives intact: {texts:?}"
    );
    let attachment = &slack[2].json()["attachments"][0];
    assert_eq!(attachment["channel"], "#soc", "options merged");
    assert_eq!(attachment["fields"][1]["value"], "/var/log/app.log");
    let pd = mock.requests("/pd/");
    assert_eq!(pd.len(), 3, "a 503 retried");
    assert_eq!(pd[2].json()["payload"]["severity"], "error", "level 10 is an error, not Wazuh's warning");
    let snow = mock.requests("/snow");
    assert_eq!(
        (snow[0].method.as_str(), snow[1].method.as_str()),
        ("POST", "PATCH"),
        "the second alert updates the open incident"
    );
    assert_eq!(
        mock.requests("/jira")[0].json()["fields"]["description"].as_str().map(|d| d.matches("{noformat}").count()),
        Some(2)
    );
    let hooks: Vec<Value> = mock.requests("/hook").iter().map(Received::json).collect();
    assert!(hooks.iter().all(|h| h["level"] == "10"), "{hooks:?}");
    let text = format!("Integration test alert: {HOSTILE}");
    assert!(hooks.iter().any(|h| h["text"].as_str() == Some(&*text)), "placeholders filled escaped: {hooks:?}");

    // VirusTotal: the FIM alert's MD5 looked up, the answer fed back: rule 87105 fires.
    wait_for("rule 87105", Duration::from_secs(20), || alerts(&home).iter().any(|a| a["rule"]["id"] == "87105"));
    let vt = alerts(&home).into_iter().find(|a| a["rule"]["id"] == "87105").expect("87105");
    assert_eq!((vt["rule"]["level"].as_u64(), vt["data"]["virustotal"]["positives"].as_str()), (Some(12), Some("5")));
    assert_eq!(vt["data"]["virustotal"]["source"]["file"], "/tmp/eicar");
    assert_eq!(mock.requests("/vt").len(), 1, "only the FIM alert is looked up");

    // The custom script: Wazuh's arguments, the alert file as JSON; the legacy file sanitised.
    wait_for("the scripts", Duration::from_secs(10), || rec.join("alert").exists() && rec.join("legacy").exists());
    let args: Vec<String> =
        std::fs::read_to_string(rec.join("args")).expect("args").lines().map(str::to_owned).collect();
    assert!(args[0].ends_with(".alert"), "{args:?}");
    assert_eq!(
        &args[1..],
        ["k3y", "http://x", "", "", "10", "3"],
        "api_key, hook_url, debug, options, timeout, retries"
    );
    let alert: Value =
        serde_json::from_str(std::fs::read_to_string(rec.join("alert")).expect("alert").lines().next().unwrap_or(""))
            .expect("JSON alert file");
    assert_eq!(alert["rule"]["id"], "100200");
    assert!(!Path::new(&args[0]).exists(), "the alert file is removed afterwards");
    let legacy = std::fs::read_to_string(rec.join("legacy")).expect("legacy");
    assert!(
        legacy.contains("alertlog='vigil-it  quoted   single   (rule.level)  id  *bold*  noformat  / end"),
        "{legacy}"
    );
    assert!(legacy.starts_with("alertdate='") && legacy.contains("\nruleid='100200'\nalertlevel='10'\n"), "{legacy}");

    // The server's script: add with check_keys answered continue, the second alert aborted, the
    // delete after the timeout.
    wait_for("the delete", Duration::from_secs(15), || {
        std::fs::read_to_string(rec.join("ar.log")).unwrap_or_default().contains(r#""command":"delete""#)
    });
    let ar: Vec<Value> = std::fs::read_to_string(rec.join("ar.log"))
        .expect("ar.log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    let commands: Vec<&str> = ar.iter().filter_map(|m| m["command"].as_str()).collect();
    assert_eq!(commands, ["add", "continue", "add", "abort", "delete"], "{ar:?}");
    assert_eq!(ar[0]["origin"]["module"], "wazuh-execd");
    assert_eq!(ar[0]["parameters"]["program"], "active-response/bin/test-ar");
    assert_eq!(ar[0]["parameters"]["alert"]["rule"]["id"], "100200");

    // vigil's host-deny: unblocked after the timeout.
    wait_for("host-deny's delete", Duration::from_secs(20), || {
        std::fs::read_to_string(&hosts_deny).unwrap_or_default() == "sshd: 192.0.2.1\n"
    });
    let ar_log = std::fs::read_to_string(home.join("logs/active-responses.log")).expect("active-responses.log");
    assert!(ar_log.contains("active-response/bin/host-deny: Ended"), "{ar_log}");

    // An agent gets its response as execd's JSON, sealed with its key.
    let agent = &agents[0];
    let mut connection = Connection::open(server.port, agent);
    connection.send(br#"#!-agent startup {"version":"v4.14.7"}"#);
    connection.send(KEEPALIVE.as_bytes());
    wait_for("the agent's version", Duration::from_secs(10), || {
        common::agents_json(&home).iter().any(|a| a["id"] == agent.id.as_str() && a["version"] == "Wazuh v4.14.7")
    });
    connection.send(b"1:/var/log/app.log:vigil-agent-ar from the agent");
    let execd = loop {
        let message = connection.receive().expect("a message for the agent");
        if let Some(json) = message.strip_prefix(b"#!-execd ") {
            break serde_json::from_slice::<Value>(json).expect("execd JSON");
        }
    };
    assert_eq!(execd["command"], "firewall-drop600");
    assert_eq!(execd["origin"]["module"], "wazuh-analysisd");
    assert_eq!(execd["parameters"]["alert"]["rule"]["id"], "100201");
    assert_eq!(execd["parameters"]["alert"]["agent"]["id"], agent.id.as_str());

    // Failures: the HTML endpoint's alerts are dead-lettered, the hanging ones retried with the
    // breaker, the hanging script given up; none of it held the others (checked above).
    wait_for("dead letters", Duration::from_secs(20), || {
        home.join("logs/integrations/webhook-8-dead-letter.json").exists()
            && home.join("logs/integrations/custom-hang-dead-letter.json").exists()
    });
    let dead =
        std::fs::read_to_string(home.join("logs/integrations/webhook-8-dead-letter.json")).expect("dead letters");
    assert!(dead.contains("HTTP 404: <!DOCTYPE html> <html>"), "{dead}");
    let prom = || std::fs::read_to_string(home.join("var/run/vigil.prom")).unwrap_or_default();
    wait_for("the metrics", Duration::from_secs(10), || prom().contains("vigil_active_response_sent_total 1"));
    let page = prom();
    assert!(page.contains("vigil_integration_sent_total{integration=\"slack\"} 2"), "{page}");
    assert!(page.contains("vigil_integration_failed_total{integration=\"webhook-8\"} 2"), "{page}");
    assert!(page.contains("vigil_integration_injected_total{integration=\"virustotal\"} 1"), "{page}");
    let ossec_log = log(&home);
    assert!(ossec_log.contains("no answer within 1 s"), "{ossec_log}");
    assert!(ossec_log.contains("custom-hang did not exit within 7 s"), "{ossec_log}");
}
