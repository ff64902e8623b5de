//! `vigil agents …` through the real command line.

mod common;

use common::{agents_json, fails, ok, scratch};

#[test]
fn add_list_show_remove() {
    let s = scratch();
    assert!(ok(&s.home, &["agents", "add", "web01"]).contains("id 001"));
    let added: serde_json::Value =
        serde_json::from_str(&ok(&s.home, &["agents", "add", "db01", "--ip", "10.0.0.7", "--json"])).expect("json");
    assert_eq!(added["id"], "002");
    assert_eq!(added["key"].as_str().map(str::len), Some(64));
    assert_eq!(added["groups"], serde_json::json!(["default"]));

    let table = ok(&s.home, &["agents", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("ID") && lines[2].contains("10.0.0.7"));

    let list = agents_json(&s.home);
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|a| a.get("key").is_none()), "list never prints keys");
    let filtered: Vec<serde_json::Value> =
        serde_json::from_str(&ok(&s.home, &["agents", "list", "--ip", "10.0.0.7", "--json"])).expect("json");
    assert_eq!(filtered.len(), 1);
    let by_status: Vec<serde_json::Value> =
        serde_json::from_str(&ok(&s.home, &["agents", "list", "--status", "active", "--json"])).expect("json");
    assert!(by_status.is_empty());

    let shown = ok(&s.home, &["agents", "show", "db01"]);
    assert!(shown.contains("never_connected") && shown.contains("002"));
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&s.home, &["agents", "show", "002", "--json"])).expect("json");
    assert_eq!(shown["name"], "db01");

    ok(&s.home, &["agents", "remove", "web01", "--keep"]);
    assert_eq!(agents_json(&s.home).len(), 1);
    let keys = ok(&s.home, &["agents", "export-keys"]);
    assert!(keys.contains("001 !web01 any "), "{keys}");
    assert!(ok(&s.home, &["agents", "add", "web02"]).contains("id 003"), "removed ids are not reused");
}

#[test]
fn bad_input_gets_clear_errors_and_changes_nothing() {
    let s = scratch();
    ok(&s.home, &["agents", "add", "web01"]);
    assert!(fails(&s.home, &["agents", "add", "web01"]).contains("Duplicate agent name: web01"));
    assert!(fails(&s.home, &["agents", "add", "bad name"]).contains("invalid agent name 'bad name'"));
    assert!(fails(&s.home, &["agents", "add", "x1", "--ip", "10.0.0.300"]).contains("invalid agent ip"));
    assert!(fails(&s.home, &["agents", "add", "x2", "--group", "nosuch"]).contains("Invalid group: nosuch"));
    assert!(fails(&s.home, &["agents", "show", "099"]).contains("no agent with id or name '099'"));

    let file = s.dir.path().join("client.keys");
    for (text, needle) in [
        ("010 a10 any k\n01x b any k\n", "line 2: invalid agent id '01x'"),
        ("010 a10 any key with spaces\n", "line 1: invalid agent key"),
        ("010 a10 any k\n011 trunc", "line 2: truncated"),
        ("010 web01 any k\n", "Duplicate agent name: web01"),
        ("001 other any k\n", "Duplicate agent id: 001"),
    ] {
        std::fs::write(&file, text).expect("write");
        let err = fails(&s.home, &["agents", "import-keys", file.to_str().expect("utf-8 path")]);
        assert!(err.contains(needle), "{text:?}: {err}");
        assert!(err.contains("client.keys"), "the error names the file: {err}");
    }
    assert_eq!(agents_json(&s.home).len(), 1, "nothing was imported");
}

#[test]
fn client_keys_round_trip_byte_for_byte() {
    let s = scratch();
    let text = "001 web01 any 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n\
                003 lan 192.168.0.0/24 9ab1c2\n\
                002 !oldhost any 77de\n\
                004 v6 0000:0000:0000:0000:0000:0000:0000:0001 aa\n\
                005 v6b fe80::1 bb\n\
                006 v4 10.1.2.3 cc\n\
                007 #gone any dd\n";
    let input = s.dir.path().join("in.keys");
    let output = s.dir.path().join("out.keys");
    std::fs::write(&input, text).expect("write");
    assert!(ok(&s.home, &["agents", "import-keys", input.to_str().expect("utf-8")]).contains("Imported 7"));
    ok(&s.home, &["agents", "export-keys", output.to_str().expect("utf-8")]);
    assert_eq!(std::fs::read_to_string(&output).expect("read"), text);
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::metadata(&output).expect("stat").permissions().mode() & 0o777, 0o640);
    assert_eq!(agents_json(&s.home).len(), 5);
    assert!(ok(&s.home, &["agents", "add", "next"]).contains("id 008"));
}
