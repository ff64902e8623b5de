//! A running `vigil serve` on a new home (vigil's default ruleset): events sent to the local
//! queue socket become alerts.json and alerts.log entries, with correlation; bad datagrams are
//! counted and logged; the logtest socket speaks Wazuh's protocol, errors included, and
//! `vigil logtest` uses it.

mod common;

use std::io::{Read as _, Write as _};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::Path;
use std::time::Duration;

use common::server::{log, start, term, wait_for};
use common::{scratch, vigil};
use serde_json::Value;

fn ask(socket: &Path, body: &[u8]) -> Value {
    let mut stream = UnixStream::connect(socket).expect("connect logtest");
    stream.write_all(&u32::try_from(body.len()).expect("size").to_le_bytes()).expect("header");
    stream.write_all(body).expect("body");
    read_reply(&mut stream)
}

fn read_reply(stream: &mut UnixStream) -> Value {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).expect("reply header");
    let mut reply = vec![0u8; u32::from_le_bytes(header) as usize];
    stream.read_exact(&mut reply).expect("reply body");
    serde_json::from_slice(&reply).expect("reply is JSON")
}

/// Kills the server if the test fails before stopping it.
struct Stopper(Option<std::process::Child>);

impl Drop for Stopper {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn alerts(home: &Path) -> Vec<Value> {
    std::fs::read_to_string(home.join("logs/alerts/alerts.json"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("alert line is JSON"))
        .collect()
}

#[test]
fn queue_events_become_alerts_and_logtest_answers_on_its_socket() {
    let s = scratch();
    let mut server = Stopper(Some(start(&s.home)));
    let queue = s.home.join("queue/sockets/queue");
    let logtest = s.home.join("queue/sockets/logtest");
    wait_for("start-up", Duration::from_secs(20), || log(&s.home).contains("INFO: Started"));
    assert!(queue.exists() && logtest.exists());

    let sender = UnixDatagram::unbound().expect("datagram socket");
    for port in 40000..40008 {
        let line = format!(
            "1:/var/log/auth.log:Nov 27 12:00:00 web01 sshd[99]: Failed password for root from 198.51.100.7 port {port} ssh2"
        );
        sender.send_to(line.as_bytes(), &queue).expect("send");
    }
    sender.send_to(b"no queue prefix", &queue).expect("send garbage");
    wait_for("eight alerts", Duration::from_secs(10), || alerts(&s.home).len() >= 8);
    let written = alerts(&s.home);
    let ids: Vec<&str> = written.iter().map(|a| a["rule"]["id"].as_str().unwrap_or_default()).collect();
    // The eighth failure is the brute force (it takes the place of its own 800103).
    assert_eq!(ids, ["800103"; 7].into_iter().chain(["800110"]).collect::<Vec<_>>());
    let brute = &written[7];
    assert_eq!(brute["rule"]["level"], 10);
    assert_eq!(brute["rule"]["frequency"], 8);
    assert_eq!(brute["rule"]["mitre"]["id"][0], "T1110.001");
    assert!(brute["rule"]["pci_dss"].as_array().is_some_and(|a| !a.is_empty()));
    assert_eq!(brute["previous_output"].as_str().map(|p| p.lines().count()), Some(7));
    assert_eq!(brute["location"], "/var/log/auth.log");
    let mut alert_ids: Vec<&str> = written.iter().filter_map(|a| a["id"].as_str()).collect();
    alert_ids.sort_unstable();
    alert_ids.dedup();
    assert_eq!(alert_ids.len(), 8, "alert ids are unique");
    let text = std::fs::read_to_string(s.home.join("logs/alerts/alerts.log")).expect("alerts.log");
    assert!(
        text.contains("Rule: 800110 (level 10) -> 'sshd: brute force, 8 failed logins from 198.51.100.7"),
        "{text}"
    );
    wait_for("the bad datagram logged", Duration::from_secs(5), || {
        log(&s.home).contains("String not correctly formatted")
    });

    // The logtest protocol, errors first.
    assert_eq!(ask(&logtest, b"{not json")["error"], 1);
    assert_eq!(ask(&logtest, br#"{"command":"log_processing"}"#)["error"], 2);
    assert_eq!(ask(&logtest, br#"{"command":"nope","parameters":{}}"#)["error"], 3);
    {
        let mut stream = UnixStream::connect(&logtest).expect("connect");
        stream.write_all(&(1u32 << 20).to_le_bytes()).expect("oversized header");
        assert_eq!(read_reply(&mut stream)["error"], 5);
    }
    let request = br#"{"version":1,"origin":{"name":"test","module":"test"},"command":"log_processing","parameters":{"location":"stdin","log_format":"syslog","event":"Nov 27 12:00:00 web01 sshd[99]: Accepted password for alice from 10.0.0.5 port 5000 ssh2"}}"#;
    let reply = ask(&logtest, request);
    assert_eq!(reply["error"], 0);
    let data = &reply["data"];
    let token = data["token"].as_str().expect("token").to_owned();
    assert!(token.len() == 8 && token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
    assert_eq!(data["output"]["rule"]["id"], "800101");
    assert_eq!(data["alert"], true);
    assert_eq!(data["codemsg"], 0);
    let remove = format!(r#"{{"command":"remove_session","parameters":{{"token":"{token}"}}}}"#);
    assert_eq!(ask(&logtest, remove.as_bytes())["data"]["codemsg"], 0);
    assert_eq!(ask(&logtest, remove.as_bytes())["data"]["codemsg"], -1, "a removed session is gone");

    // `vigil logtest` finds the socket and answers through it.
    let mut cli = vigil()
        .args(["logtest", "-U", "800101:3:vigil-sshd", "--home"])
        .arg(&s.home)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("logtest");
    cli.stdin
        .take()
        .expect("stdin")
        .write_all(b"Nov 27 12:00:00 web01 sshd[99]: Accepted password for alice from 10.0.0.5 port 5000 ssh2\n")
        .expect("write");
    assert!(cli.wait().expect("exit").success());

    let mut child = server.0.take().expect("running");
    term(&child);
    assert!(child.wait().expect("wait").success());
    assert!(!queue.exists() && !logtest.exists(), "the sockets are removed on stop");
}

#[test]
fn sighup_reloads_the_ruleset_under_load_and_loses_no_event() {
    let s = scratch();
    common::ok(&s.home, &["agents", "list"]);
    let rule = |description: &str, level: u32| {
        format!(
            r#"<group name="local,"><rule id="100300" level="{level}"><match>vigil-hup-canary</match><description>{description}</description></rule></group>"#
        )
    };
    let rules = s.home.join("etc/rules/local_rules.xml");
    std::fs::write(&rules, rule("before", 5)).expect("rules");
    let mut server = Stopper(Some(start(&s.home)));
    wait_for("start-up", Duration::from_secs(20), || log(&s.home).contains("INFO: Started"));
    let queue = s.home.join("queue/sockets/queue");
    const EVENTS: usize = 4000;
    let sending = std::thread::spawn(move || {
        let sender = UnixDatagram::unbound().expect("datagram socket");
        for n in 0..EVENTS {
            sender.send_to(format!("1:hup-test:vigil-hup-canary {n}").as_bytes(), &queue).expect("send");
            if n % 500 == 0 {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    });
    // Mid-stream: a new version of the rule, then SIGHUP.
    std::thread::sleep(Duration::from_millis(100));
    std::fs::write(&rules, rule("after", 6)).expect("rules");
    let pid = server.0.as_ref().map(|c| c.id().to_string()).expect("server");
    let status = std::process::Command::new("kill").args(["-HUP", &pid]).status().expect("kill");
    assert!(status.success());
    wait_for("the reload", Duration::from_secs(10), || log(&s.home).contains("SIGHUP: reloaded"));
    sending.join().expect("sender");

    let canaries = |alerts: &[Value]| alerts.iter().filter(|a| a["rule"]["id"] == "100300").count();
    wait_for("every event's alert", Duration::from_secs(30), || canaries(&alerts(&s.home)) >= EVENTS);
    let written = alerts(&s.home);
    assert_eq!(canaries(&written), EVENTS, "one alert per event, none lost or doubled");
    let after = written.iter().filter(|a| a["rule"]["description"] == "after" && a["rule"]["level"] == 6).count();
    assert!(after > 0, "the new rule is in force after SIGHUP");
    let mut seen: Vec<&str> = written.iter().filter_map(|a| a["full_log"].as_str()).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), EVENTS);

    // A configuration with errors is refused and the engine in force is kept.
    std::fs::write(
        s.home.join("etc/ossec.conf"),
        "<ossec_config><global><logall>perhaps</logall></global></ossec_config>",
    )
    .expect("break ossec.conf");
    let status = std::process::Command::new("kill").args(["-HUP", &pid]).status().expect("kill");
    assert!(status.success());
    wait_for("the refusal", Duration::from_secs(10), || log(&s.home).contains("nothing reloaded"));
    if let Some(child) = server.0.take() {
        let mut child = child;
        assert!(child.try_wait().expect("status").is_none(), "still serving");
        let _ = child.kill();
        let _ = child.wait();
    }
}
