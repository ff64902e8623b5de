//! Agent modules end to end: the messages a Wazuh-maintained agent implementation sends
//! (`../shared/protocol/module-events.jsonl`) decoded into the state store, FIM alerts from a
//! real sequence, and the state read back through `/syscheck`, `/syscollector`, `/sca` and
//! `/rootcheck`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use vigil::server::queue::Sink;
use vigil::store::state::{Owner, Table};

use crate::harness::{Harness, Payload};

async fn harness() -> Harness {
    let h = Harness::with(true, |_| {}).await;
    h.agents(&[("agent1", &[])]);
    h
}

fn sink(h: &Harness) -> Arc<Sink> {
    Arc::clone(h.api.services.sink.as_ref().expect("sink"))
}

/// Sends `payloads` as agent 001 sends them (remoted prefixes the agent's location).
fn from_agent(h: &Harness, payloads: &[&str]) {
    let agent = h.api.store.agent("001".parse().expect("id")).expect("store").expect("agent 001");
    let messages: Vec<Vec<u8>> = payloads
        .iter()
        .map(|p| vigil::remote::event::forward(&agent, p.as_bytes()).expect("well-formed event"))
        .collect();
    let sink = sink(h);
    sink.handle_all(&messages);
    // Written by the log's own thread: wait for it before reading the files.
    sink.log.barrier();
}

fn alerts(h: &Harness) -> Vec<Value> {
    let text = std::fs::read_to_string(h.home.join("logs/alerts/alerts.json")).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).expect("alert line is JSON")).collect()
}

fn owner() -> Owner {
    Owner::parse("001").expect("owner")
}

fn count(h: &Harness, table: Table) -> u64 {
    h.api.store.state().read(|r| r.count(owner(), table)).expect("count")
}

#[tokio::test]
async fn every_sample_module_message_decodes_into_the_state_store() {
    let h = harness().await;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/protocol/module-events.jsonl");
    let text = std::fs::read_to_string(path).expect("module-events.jsonl");
    let samples: Vec<(String, String)> = text
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("sample line");
            (v["module"].as_str().expect("module").to_owned(), v["message"].as_str().expect("message").to_owned())
        })
        .collect();
    assert_eq!(samples.len(), 140);
    let payloads: Vec<&str> = samples.iter().map(|(_, m)| m.as_str()).collect();
    from_agent(&h, &payloads);
    let s = sink(&h);
    assert_eq!(s.modules.refused.load(Ordering::Relaxed), 0, "no sample is refused");
    assert_eq!(s.modules.stored.load(Ordering::Relaxed), 140);
    let fim_events = samples.iter().filter(|(m, _)| m == "fim").count();
    assert!(fim_events > 0);
    // The integrity checks among the samples prune FIM entries outside their ranges, as
    // wazuh-db does; every FIM event still raised its alert.
    let fim_alerts = alerts(&h).iter().filter(|a| a.get("syscheck").is_some()).count();
    assert_eq!(fim_alerts, fim_events);
    assert_eq!(count(&h, Table::Hostinfo), 20, "twenty scanned hosts");
    assert_eq!(count(&h, Table::Rootcheck), 1, "the scan marker, seen twenty times");
    assert_eq!(count(&h, Table::NetIface), 1, "one interface, modified twenty times");
    // Every summary carries force_alert; a changed policy file purges what was stored of it.
    let sca = samples.iter().filter(|(m, _)| m == "sca").count();
    let summaries = alerts(&h).iter().filter(|a| a["data"]["sca"]["type"] == "summary").count();
    assert_eq!(summaries, sca);
    let fired: Vec<String> = alerts(&h).iter().filter_map(|a| a["rule"]["id"].as_str().map(str::to_owned)).collect();
    assert_eq!(fired.iter().filter(|r| *r == "581").count(), 20, "each new host raises 581: {fired:?}");
    let stats = h.admin(Method::GET, "/manager/stats/analysisd", Payload::None).await.expect(StatusCode::OK).json();
    let stats = &stats["data"]["affected_items"][0];
    assert_eq!(stats["syscheck_events_decoded"], 20);
    assert_eq!(stats["dbsync_messages_dispatched"], 20);
    assert_eq!(stats["winevt_events_decoded"], 20);
    let log = h.admin(Method::GET, "/manager/stats/indexer", Payload::None).await.expect(StatusCode::OK).json();
    let log = &log["data"]["affected_items"][0];
    // The 20 state-sync messages are absorbed: no event, nothing in the log.
    assert_eq!(log["alert_log"]["events_written"], 120, "{log}");
    assert_eq!(log["alert_log"]["alerts_written"], alerts(&h).len(), "{log}");
    assert_eq!(log["alert_log"]["write_errors"], 0);
    assert_eq!(log["shipping"], serde_json::json!([]), "no <indexer>, no shipper");
    let text = h.admin(Method::GET, "/metrics", Payload::None).await.expect(StatusCode::OK).text;
    assert!(text.contains("vigil_output_write_errors_total 0"), "{text}");
    assert!(text.contains("vigil_modules_decoded_total{module=\"hostinfo\"} 20"), "{text}");
    assert!(text.contains("vigil_modules_refused_total 0"), "{text}");
    let windows = alerts(&h).into_iter().find(|a| a["decoder"]["name"] == "windows_eventchannel");
    if let Some(w) = windows {
        assert_eq!(w["data"]["win"]["system"]["channel"], "System");
    }
}

fn fim(kind: &str, size: u64, md5: &str, extra: &str) -> String {
    format!(
        r#"8:syscheck:{{"type":"event","data":{{"path":"/etc/app.conf","mode":"realtime","type":"{kind}","timestamp":1700000000,"attributes":{{"type":"file","size":{size},"perm":"rw-r--r--","uid":"0","gid":"0","user_name":"root","group_name":"root","inode":7,"mtime":1700000000,"hash_md5":"{md5}","hash_sha1":"s{md5}","hash_sha256":"h{md5}","checksum":"c{md5}"}}{extra}}}}}"#
    )
}

#[tokio::test]
async fn fim_added_modified_deleted_raise_554_550_553_and_follow_the_state() {
    let h = harness().await;
    from_agent(&h, &[&fim("added", 10, "a1", "")]);
    assert_eq!(count(&h, Table::FimFile), 1);
    let old = r#","old_attributes":{"type":"file","size":10,"perm":"rw-r--r--","uid":"0","gid":"0","user_name":"root","group_name":"root","inode":7,"mtime":1700000000,"hash_md5":"a1","hash_sha1":"sa1","hash_sha256":"ha1","checksum":"ca1"},"changed_attributes":["size","md5","sha1","sha256"]"#;
    let modified = fim("modified", 20, "b2", old);
    from_agent(&h, &[&modified]);
    // The same event again (a re-send) changes nothing and raises nothing.
    from_agent(&h, &[&modified]);
    let row = h.api.store.state().read(|r| r.get(owner(), Table::FimFile, "/etc/app.conf")).expect("read");
    assert_eq!(row.as_ref().and_then(|r| r.get("md5")), Some(&json!("b2")));
    from_agent(&h, &[&fim("deleted", 20, "b2", "")]);
    assert_eq!(count(&h, Table::FimFile), 0, "deleted entries leave the state");

    let fim_alerts: Vec<Value> = alerts(&h).into_iter().filter(|a| a.get("syscheck").is_some()).collect();
    let ids: Vec<&str> = fim_alerts.iter().filter_map(|a| a["rule"]["id"].as_str()).collect();
    assert_eq!(ids, ["554", "550", "553"]);
    let changed = &fim_alerts[1];
    assert_eq!(changed["rule"]["level"], 7);
    assert_eq!(changed["decoder"]["name"], "syscheck_integrity_changed");
    assert_eq!(changed["syscheck"]["changed_attributes"], json!(["size", "md5", "sha1", "sha256"]));
    assert_eq!(changed["syscheck"]["size_before"], "10");
    assert_eq!(changed["syscheck"]["size_after"], "20");
    assert_eq!(changed["syscheck"]["md5_before"], "a1");
    assert_eq!(changed["syscheck"]["inode_after"], 7);
    assert_eq!(changed["location"], "syscheck");
    assert!(changed.get("data").is_none(), "FIM alerts carry syscheck, not data");
    let log = changed["full_log"].as_str().expect("full_log");
    assert!(
        log.starts_with("File '/etc/app.conf' modified\nMode: realtime\nChanged attributes: size,md5,sha1,sha256\n")
    );
    assert!(log.contains("Size changed from '10' to '20'\n"), "{log}");
    let text = std::fs::read_to_string(h.home.join("logs/alerts/alerts.log")).expect("alerts.log");
    assert!(text.contains("Attributes:\n - Size: 20\n"), "{text}");
}

#[tokio::test]
async fn integrity_checks_answer_and_prune_the_state() {
    let h = harness().await;
    let state = |path: &str, sum: &str| {
        format!(
            r#"5:fim_file:{{"component":"fim_file","type":"state","data":{{"path":"{path}","timestamp":1,"attributes":{{"type":"file","size":1,"checksum":"{sum}"}}}}}}"#
        )
    };
    from_agent(&h, &[&state("/a", "x"), &state("/b", "y"), &state("/z", "w")]);
    assert_eq!(count(&h, Table::FimFile), 3);
    // A global check over /a../b deletes what lies outside it.
    let global = r#"5:fim_file:{"component":"fim_file","type":"integrity_check_global","data":{"id":5,"begin":"/a","end":"/b","checksum":"0"}}"#;
    from_agent(&h, &[global]);
    assert_eq!(count(&h, Table::FimFile), 2);
    assert_eq!(sink(&h).modules.refused.load(Ordering::Relaxed), 0);
    let clear = r#"5:fim_file:{"component":"fim_file","type":"integrity_clear","data":{"id":6}}"#;
    from_agent(&h, &[clear]);
    assert_eq!(count(&h, Table::FimFile), 0);
}

#[tokio::test]
async fn hostile_module_json_is_refused_and_counted() {
    let h = harness().await;
    let deep = format!("8:syscheck:{}{}", "[".repeat(200), "]".repeat(200));
    let wrong = r#"8:syscheck:{"type":"event","data":{"path":7,"type":"added","attributes":{"type":"file"}}}"#;
    let huge = format!(
        r#"d:syscollector:{{"type":"dbsync_packages","operation":"INSERTED","data":{{"a":[{}]}}}}"#,
        "1,".repeat(30_000) + "1"
    );
    let no_data = r#"p:sca:{"type":"check","id":1}"#;
    from_agent(&h, &[&deep, wrong, &huge, no_data, "f:EventChannel:not json"]);
    assert_eq!(sink(&h).modules.refused.load(Ordering::Relaxed), 5);
    assert!(alerts(&h).is_empty());
}

fn package(name: &str, vendor: &str, n: u32) -> String {
    format!(
        r#"d:syscollector:{{"type":"dbsync_packages","operation":"INSERTED","data":{{"name":"{name}","version":"1.{n}","architecture":"amd64","format":"deb","location":"","vendor":"{vendor}","size":{n},"item_id":"id{n:04}","checksum":"c{n}","scan_time":"2026/11/27 10:00:00"}}}}"#
    )
}

#[tokio::test]
async fn inventory_and_assessments_are_queryable_through_the_api() {
    let h = harness().await;
    let packages: Vec<String> =
        (0..30).map(|n| package(&format!("pkg{n:02}"), if n % 3 == 0 { "debian" } else { "other" }, n)).collect();
    let refs: Vec<&str> = packages.iter().map(String::as_str).collect();
    from_agent(&h, &refs);
    let reply =
        h.admin(Method::GET, "/syscollector/001/packages?q=vendor=debian&sort=-name&limit=3", Payload::None).await;
    let body = reply.expect(StatusCode::OK).json();
    assert_eq!(body["data"]["total_affected_items"], 10);
    let names: Vec<&str> =
        body["data"]["affected_items"].as_array().expect("items").iter().filter_map(|i| i["name"].as_str()).collect();
    assert_eq!(names, ["pkg27", "pkg24", "pkg21"]);
    let first = &body["data"]["affected_items"][0];
    assert_eq!(first["agent_id"], "001");
    assert_eq!(first["scan"]["time"], "2026-11-27T10:00:00+00:00");

    let check = |id: u32, result: &str| {
        format!(
            r#"p:sca:{{"type":"check","id":9,"policy":"CIS Debian","policy_id":"cis_debian","check":{{"id":{id},"title":"Check {id}","result":"{result}","compliance":{{"cis":"1.1"}},"rules":["f:/etc/fstab -> r:tmp"]}}}}"#
        )
    };
    from_agent(&h, &[&check(100, "passed"), &check(101, "failed")]);
    from_agent(&h, &[&check(101, "passed")]);
    let sca_alerts: Vec<String> =
        alerts(&h).iter().filter_map(|a| a["rule"]["id"].as_str().map(str::to_owned)).collect();
    assert_eq!(sca_alerts, ["19008", "19007", "19010"], "new checks alert, then the one that changed");
    let body = h
        .admin(Method::GET, "/sca/001/checks/cis_debian?result=passed", Payload::None)
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(body["data"]["total_affected_items"], 2);
    assert_eq!(body["data"]["affected_items"][0]["compliance"], json!([{"key": "cis", "value": "1.1"}]));
    assert_eq!(body["data"]["affected_items"][0]["rules"], json!([{"type": "file", "rule": "f:/etc/fstab -> r:tmp"}]));

    from_agent(
        &h,
        &[
            "9:rootcheck:Starting rootcheck scan.",
            "9:rootcheck:Trojaned version of file '/bin/x' detected.",
            "9:rootcheck:Ending rootcheck scan.",
        ],
    );
    let body = h.admin(Method::GET, "/rootcheck/001", Payload::None).await.expect(StatusCode::OK).json();
    assert_eq!(body["data"]["total_affected_items"], 1);
    assert_eq!(body["data"]["affected_items"][0]["status"], "outstanding");
    let body = h.admin(Method::GET, "/rootcheck/001/last_scan", Payload::None).await.expect(StatusCode::OK).json();
    assert!(body["data"]["affected_items"][0]["end"].is_string());

    h.admin(Method::GET, "/syscheck/042", Payload::None).await.expect(StatusCode::NOT_FOUND);
    let body = h.admin(Method::GET, "/syscheck/001", Payload::None).await.expect(StatusCode::OK).json();
    assert_eq!(body["data"]["total_affected_items"], 0);

    // Removing the agent removes its state.
    h.admin(Method::DELETE, "/agents?agents_list=001&status=all&older_than=0s", Payload::None)
        .await
        .expect(StatusCode::OK);
    assert_eq!(count(&h, Table::Packages), 0);
}

#[tokio::test]
async fn inventory_fills_the_agent_os_and_cis_cat_scans_are_kept() {
    let h = harness().await;
    let os = r#"d:syscollector:{"type":"dbsync_osinfo","operation":"MODIFIED","data":{"hostname":"web","architecture":"x86_64","os_name":"Debian GNU/Linux","os_version":"12 (bookworm)","os_codename":"bookworm","os_major":"12","os_platform":"debian","sysname":"Linux","release":"6.1.0","version":"1 SMP","checksum":"c1","scan_time":"2026/11/27 10:00:00"}}"#;
    from_agent(&h, &[os]);
    let body = h.admin(Method::GET, "/agents?agents_list=001", Payload::None).await.expect(StatusCode::OK).json();
    let agent = &body["data"]["affected_items"][0];
    assert_eq!(agent["os"]["name"], "Debian GNU/Linux");
    assert_eq!(agent["os"]["major"], "12");
    assert_eq!(agent["os"]["platform"], "debian");
    let body = h.admin(Method::GET, "/syscollector/001/os", Payload::None).await.expect(StatusCode::OK).json();
    let item = &body["data"]["affected_items"][0];
    assert_eq!(item["os"]["codename"], "bookworm");
    assert_eq!(item["architecture"], "x86_64");
    assert_eq!(item["sysname"], "Linux");

    let scan = r#"e:wodle_cis-cat:{"type":"scan_info","scan_id":7,"cis":{"benchmark":"CIS Debian","profile":"L1","timestamp":"2026-11-27T10:00:00Z","pass":80,"fail":20,"error":0,"unknown":0,"notchecked":5,"score":"80%"}}"#;
    from_agent(&h, &[scan, r#"e:elsewhere:{"type":"scan_info"}"#]);
    let row = h.api.store.state().read(|r| r.get(owner(), Table::Ciscat, "last")).expect("read").expect("scan kept");
    assert_eq!(row.get("score"), Some(&json!(80)));
    assert_eq!(row.get("pass"), Some(&json!(80)));
    assert_eq!(sink(&h).modules.refused.load(Ordering::Relaxed), 1, "a CIS-CAT message from elsewhere is refused");
    let service = r#"d:syscollector:{"type":"dbsync_services","operation":"INSERTED","data":{"service_id":"ssh","service_name":"OpenSSH","service_state":"running","process_pid":42,"file_path":"/lib/systemd/system/ssh.service","item_id":"s1","checksum":"c","scan_time":"2026/11/27 10:00:00"}}"#;
    from_agent(&h, &[service]);
    let body = h.admin(Method::GET, "/syscollector/001/services", Payload::None).await.expect(StatusCode::OK).json();
    let item = &body["data"]["affected_items"][0];
    assert_eq!(item["service"]["name"], "OpenSSH");
    assert_eq!(item["process"]["pid"], 42);
    assert_eq!(item["file.path"], "/lib/systemd/system/ssh.service", "kept flat as Wazuh shows it");
    let body = h
        .admin(Method::GET, "/ciscat/001/results?select=score,scan.id", Payload::None)
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(body["data"]["affected_items"][0]["score"], 80);
    assert_eq!(body["data"]["affected_items"][0]["scan"]["id"], 7);
}

#[tokio::test]
async fn windows_events_reach_the_stock_windows_rules() {
    let h = harness().await;
    let event = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-a5ba-3e3b0328c30d}'/><EventID>4625</EventID><Version>0</Version><Level>0</Level><Task>12544</Task><Opcode>0</Opcode><Keywords>0x8010000000000000</Keywords><TimeCreated SystemTime='2026-11-27T10:00:00.000000000Z'/><EventRecordID>1</EventRecordID><Correlation/><Execution ProcessID='600' ThreadID='700'/><Channel>Security</Channel><Computer>dc01</Computer><Security/></System><EventData><Data Name='TargetUserName'>bob</Data><Data Name='TargetDomainName'>CORP</Data><Data Name='Status'>0xc000006d</Data><Data Name='SubStatus'>0xc000006a</Data><Data Name='LogonType'>3</Data><Data Name='IpAddress'>10.0.0.9</Data><Data Name='IpPort'>50000</Data></EventData></Event>";
    let message = format!("f:EventChannel:{}", json!({"Message": "An account failed to log on.", "Event": event}));
    from_agent(&h, &[&message]);
    let alerts = alerts(&h);
    let alert = alerts.first().expect("an alert");
    assert_eq!(alert["rule"]["id"], "60122", "{alert}");
    assert_eq!(alert["decoder"]["name"], "windows_eventchannel");
    assert_eq!(alert["data"]["win"]["eventdata"]["targetUserName"], "bob");
    assert_eq!(alert["data"]["win"]["system"]["severityValue"], "AUDIT_FAILURE");
    assert!(alert.get("full_log").is_none(), "the Windows rules set no_full_log");
}
