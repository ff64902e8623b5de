//! Threat intelligence: `vigil lists import` turns a CSV feed into a CDB list, and a running
//! server puts a changed list in force by itself, with no restart and no event lost.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::Duration;

use common::server::{log, serve_prepared, wait_for};
use common::{fails, ok};

const DECODER: &str = r#"<decoder name="vigil-ioc">
  <prematch>^vigil-ioc </prematch>
  <regex>from (\S+)</regex>
  <order>srcip</order>
</decoder>
"#;

const RULE: &str = r#"<group name="ioc,">
  <rule id="100400" level="12">
    <decoded_as>vigil-ioc</decoded_as>
    <list field="srcip" lookup="address_match_key">etc/lists/feed-ips</list>
    <description>Connection from a listed address $(srcip)</description>
  </rule>
</group>
"#;

fn ioc_alerts(home: &Path, ip: &str) -> usize {
    std::fs::read_to_string(home.join("logs/alerts/alerts.json"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|a| a["rule"]["id"] == "100400" && a["data"]["srcip"] == ip)
        .count()
}

#[test]
fn feeds_become_lists_and_changed_lists_reload_without_losing_events() {
    let feeds = tempfile::tempdir().expect("tempdir");
    let first = feeds.path().join("first.csv");
    std::fs::write(&first, "ip,first_seen\n203.0.113.9,2026-11-01\nbogus,x\n# comment\n").expect("feed");
    let server = serve_prepared("Started", |home, _, config| {
        std::fs::write(home.join("etc/decoders/ioc.xml"), DECODER).expect("decoder");
        std::fs::write(home.join("etc/rules/ioc.xml"), RULE).expect("rule");
        let out = ok(
            home,
            &["lists", "import", first.to_str().expect("utf-8"), "--output", "etc/lists/feed-ips", "--value", "feed-1"],
        );
        assert!(out.contains("1 entries (2 lines skipped, 0 duplicates)"), "{out}");
        let refused = fails(home, &["lists", "import", first.to_str().expect("utf-8"), "--output", "/etc/passwd"]);
        assert!(refused.contains("under the home"), "{refused}");
        format!("{config}<ossec_config><ruleset><list>etc/lists/feed-ips</list></ruleset></ossec_config>\n")
    });
    let home = server.home().to_owned();
    assert_eq!(std::fs::read_to_string(home.join("etc/lists/feed-ips")).expect("list"), "203.0.113.9:feed-1\n");
    let queue = home.join("queue/sockets/queue");
    let sender = UnixDatagram::unbound().expect("socket");
    let send = |ip: &str| {
        sender.send_to(format!("1:/var/log/app.log:vigil-ioc connection from {ip}").as_bytes(), &queue).expect("send");
    };
    send("203.0.113.9");
    send("198.51.100.20");
    wait_for("the listed address's alert", Duration::from_secs(10), || ioc_alerts(&home, "203.0.113.9") == 1);
    assert_eq!(ioc_alerts(&home, "198.51.100.20"), 0, "not listed yet");

    // A new feed replaces the list while events keep coming: every one is analysed.
    let second = feeds.path().join("second.txt");
    std::fs::write(&second, "203.0.113.9\n198.51.100.20\n198.51.100.20\n").expect("feed");
    let sent = std::thread::scope(|scope| {
        let sending = scope.spawn(|| {
            let mut n = 0;
            while !log(&home).contains("CDB lists changed on disk: reloaded") && n < 2000 {
                send("203.0.113.9");
                n += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            for _ in 0..50 {
                send("203.0.113.9");
                n += 1;
            }
            n
        });
        let out = ok(
            &home,
            &["lists", "import", second.to_str().expect("utf-8"), "--output", "etc/lists/feed-ips", "--kind", "ip"],
        );
        assert!(out.contains("2 entries (0 lines skipped, 1 duplicates)"), "{out}");
        sending.join().expect("sender")
    });
    assert!(log(&home).contains("CDB lists changed on disk: reloaded"), "{}", log(&home));
    send("198.51.100.20");
    wait_for("the newly listed address's alert", Duration::from_secs(10), || ioc_alerts(&home, "198.51.100.20") == 1);
    wait_for("every event across the reload", Duration::from_secs(10), || ioc_alerts(&home, "203.0.113.9") == 1 + sent);
}
