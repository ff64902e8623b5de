//! `/rules`, `/decoders`, `/lists`: reading, and user files changed with validation and reload;
//! `/logtest` and `/events` through the engine.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Harness, Payload};

#[tokio::test]
async fn rules_decoders_and_lists_are_read_from_their_files() {
    let h = Harness::with(true, |_| {}).await;
    let rules = h.get("/rules?limit=5").await.expect(StatusCode::OK).json();
    assert!(rules["data"]["total_affected_items"].as_u64().expect("test value") > 100);
    let ids: Vec<u64> = rules["data"]["affected_items"]
        .as_array()
        .expect("test value")
        .iter()
        .map(|r| r["id"].as_u64().expect("test value"))
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "by id");
    let one = h.get("/rules?rule_ids=5710").await.items();
    assert_eq!(one[0]["level"], 5);
    assert!(one[0]["groups"].as_array().expect("test value").contains(&json!("sshd")));
    assert!(!one[0]["pci_dss"].as_array().expect("test value").is_empty());
    let pci = h.get("/rules?pci_dss=10.2.4&limit=1").await.json();
    assert!(pci["data"]["total_affected_items"].as_u64().expect("test value") > 0);
    let levels = h.get("/rules?level=12-13&select=level").await.items();
    assert!(levels.iter().all(|r| (12..=13).contains(&r["level"].as_u64().expect("test value"))));
    let groups = h.get("/rules/groups").await.items();
    assert!(groups.contains(&json!("authentication_failed")));
    let mitre = h.get("/rules/requirement/mitre").await.items();
    assert!(mitre.contains(&json!("T1110")));
    let files = h.get("/rules/files?filename=0095-sshd_rules.xml").await.items();
    assert_eq!(files[0]["status"], "enabled");
    let raw = h.get("/rules/files/0095-sshd_rules.xml?raw=true").await.expect(StatusCode::OK);
    assert!(raw.content_type.starts_with("text/plain"));
    assert!(raw.text.contains("<rule id=\"5710\""));
    let parsed = h.get("/rules/files/0095-sshd_rules.xml").await.items();
    assert!(parsed[0]["group"].is_object() || parsed[0]["group"].is_array());
    let decoders = h.get("/decoders?decoder_names=sshd").await.items();
    assert_eq!(decoders[0]["details"]["program_name"]["pattern"], "^sshd");
    let parents = h.get("/decoders/parents?limit=500").await.items();
    assert!(parents.iter().all(|d| d["details"].get("parent").is_none()));
    let lists = h.get("/lists/files").await.expect(StatusCode::OK).json();
    assert!(lists["data"]["total_affected_items"].as_u64().expect("test value") > 0);
    let techniques = h.get("/mitre/techniques?technique_ids=T1110").await.items();
    assert_eq!(techniques[0]["name"], "Brute Force");
    let tactics = h.get("/mitre/tactics?tactic_ids=TA0006").await.items();
    assert!(tactics[0]["techniques"].as_array().expect("test value").contains(&json!("T1110")));
}

#[tokio::test]
async fn user_rule_files_are_validated_reloaded_and_deleted() {
    let h = Harness::with(true, |_| {}).await;
    let rule = br#"<group name="local,"><rule id="100100" level="7"><match>vigil-api-test</match><description>API rule</description></rule></group>"#;
    let put = h
        .admin(Method::PUT, "/rules/files/api_rules.xml", Payload::Raw("application/octet-stream", rule.to_vec()))
        .await;
    assert_eq!(put.expect(StatusCode::OK).json()["data"]["affected_items"], json!(["etc/rules/api_rules.xml"]));
    // The engine in force has it: logtest matches it.
    let tested = h
        .admin(
            Method::PUT,
            "/logtest",
            Payload::Json(json!({"event": "vigil-api-test here", "log_format": "syslog", "location": "api"})),
        )
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(tested["data"]["output"]["rule"]["id"], "100100");
    assert_eq!(tested["data"]["alert"], true);
    let token = tested["data"]["token"].as_str().expect("test value").to_owned();
    let closed =
        h.admin(Method::DELETE, &format!("/logtest/sessions/{token}"), Payload::None).await.expect(StatusCode::OK);
    assert!(closed.json()["message"].as_str().expect("test value").contains("closed"));
    let exists = h
        .admin(Method::PUT, "/rules/files/api_rules.xml", Payload::Raw("application/octet-stream", rule.to_vec()))
        .await;
    assert_eq!(exists.expect(StatusCode::BAD_REQUEST).json()["error"], 1905);
    // A rule that does not load is refused and the old file stays.
    let broken = br#"<group name="local,"><rule id="100100" level="7"><regex>(unclosed</regex><description>x</description></rule></group>"#;
    let refused = h
        .admin(
            Method::PUT,
            "/rules/files/api_rules.xml?overwrite=true",
            Payload::Raw("application/octet-stream", broken.to_vec()),
        )
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert_eq!(refused.json()["error"], 1908);
    assert_eq!(std::fs::read(h.home.join("etc/rules/api_rules.xml")).expect("test value"), rule);
    let bad_xml =
        h.admin(Method::PUT, "/rules/files/x.xml", Payload::Raw("application/octet-stream", b"<group>".to_vec())).await;
    assert_eq!(bad_xml.expect(StatusCode::BAD_REQUEST).json()["error"], 1113);
    h.admin(Method::DELETE, "/rules/files/api_rules.xml", Payload::None).await.expect(StatusCode::OK);
    assert!(!h.home.join("etc/rules/api_rules.xml").exists());
    let gone = h.admin(Method::DELETE, "/rules/files/api_rules.xml", Payload::None).await.json();
    assert_eq!(gone["data"]["failed_items"][0]["error"]["code"], 1906);
    // Stock files cannot be deleted: only the user directory is written.
    let stock = h.admin(Method::DELETE, "/rules/files/0095-sshd_rules.xml", Payload::None).await.json();
    assert_eq!(stock["error"], 1);
    assert!(h.home.join("ruleset/rules/0095-sshd_rules.xml").exists());
    let list = h
        .admin(
            Method::PUT,
            "/lists/files/api-list",
            Payload::Raw("application/octet-stream", b"10.0.0.1:bad\nhost:\n".to_vec()),
        )
        .await;
    list.expect(StatusCode::OK);
    let not_a_list = h
        .admin(Method::PUT, "/lists/files/api-list2", Payload::Raw("application/octet-stream", b"no colon\n".to_vec()))
        .await;
    assert_eq!(not_a_list.expect(StatusCode::BAD_REQUEST).json()["error"], 1806);
    let reload = h.admin(Method::PUT, "/manager/analysisd/reload", Payload::None).await.expect(StatusCode::OK);
    assert_eq!(reload.items()[0]["msg"], "Reload request sent");
}

#[tokio::test]
async fn events_posted_to_the_api_are_analysed() {
    let h = Harness::with(true, |_| {}).await;
    let events = json!({"events": ["Nov 28 10:00:00 host sshd[1]: Failed password for invalid user bob from 10.0.0.9 port 22 ssh2", {"json": "event"}]});
    let reply = h.admin(Method::POST, "/events", Payload::Json(events)).await.expect(StatusCode::OK).json();
    assert_eq!(reply["data"]["total_affected_items"], 2);
    let alerts = std::fs::read_to_string(h.home.join("logs/alerts/alerts.json")).expect("test value");
    assert!(alerts.contains("\"location\":\"API-Webhook\""), "{alerts}");
    let metrics = h.get("/metrics").await.expect(StatusCode::OK).text;
    assert!(metrics.contains("vigil_engine_events_total 2\n"), "{metrics}");
    assert!(metrics.contains("vigil_engine_decoded_total 2\n"), "the sshd line and the JSON event decode: {metrics}");
    assert!(metrics.contains("vigil_engine_alerts_total "), "{metrics}");
    let too_many = json!({"events": vec!["x"; 101]});
    h.admin(Method::POST, "/events", Payload::Json(too_many)).await.expect(StatusCode::BAD_REQUEST);
}
