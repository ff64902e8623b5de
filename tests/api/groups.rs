//! `/groups`: create, list, configure, read files, delete.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Harness, Payload};

#[tokio::test]
async fn groups_are_created_configured_read_and_deleted() {
    let h = Harness::new().await;
    let created =
        h.admin(Method::POST, "/groups", Payload::Json(json!({"group_id": "web"}))).await.expect(StatusCode::OK);
    assert_eq!(created.json()["message"], "Group 'web' created.");
    assert!(h.home.join("etc/shared/web/agent.conf").is_file());
    let dup = h
        .admin(Method::POST, "/groups", Payload::Json(json!({"group_id": "web"})))
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert_eq!(dup.json()["error"], 1711);
    h.agents(&[("w1", &["web"])]);
    let groups = h.get("/groups?sort=name").await.items();
    let names: Vec<&str> = groups.iter().map(|g| g["name"].as_str().expect("test value")).collect();
    assert_eq!(names, ["default", "web"]);
    assert_eq!(groups[1]["count"], 1);
    assert_eq!(groups[1]["configSum"].as_str().expect("test value").len(), 32);
    let sha = h.get("/groups?groups_list=web&hash=sha256").await.items();
    assert_eq!(sha[0]["configSum"].as_str().expect("test value").len(), 64);
    let conf = "<agent_config os=\"Linux\">\n  <localfile>\n    <location>/var/log/web.log</location>\n    <log_format>syslog</log_format>\n  </localfile>\n</agent_config>\n";
    h.admin(Method::PUT, "/groups/web/configuration", Payload::Raw("application/xml", conf.as_bytes().to_vec()))
        .await
        .expect(StatusCode::OK);
    let read = h.get("/groups/web/configuration").await.items();
    assert_eq!(read[0]["filters"], json!({"os": "Linux"}));
    assert_eq!(read[0]["config"]["localfile"]["location"], "/var/log/web.log");
    let broken = h
        .admin(Method::PUT, "/groups/web/configuration", Payload::Raw("application/xml", b"<agent_config>".to_vec()))
        .await;
    assert_eq!(broken.expect(StatusCode::BAD_REQUEST).json()["error"], 1113);
    let files = h.get("/groups/web/files").await.items();
    assert_eq!(files[0]["filename"], "agent.conf");
    let raw = h.get("/groups/web/files/agent.conf?raw=true").await.expect(StatusCode::OK);
    assert_eq!(raw.text, conf);
    let members = h.get("/groups/web/agents").await.items();
    assert_eq!(members[0]["name"], "w1");
    h.get("/groups/web/files/..%2F..%2Fossec.conf").await.expect(StatusCode::NOT_FOUND);
    h.get("/groups/nope/agents").await.expect(StatusCode::NOT_FOUND);
    let default = h.admin(Method::DELETE, "/groups?groups_list=default", Payload::None).await.json();
    assert_eq!(default["data"]["failed_items"][0]["error"]["code"], 1712);
    let deleted = h.admin(Method::DELETE, "/groups?groups_list=web", Payload::None).await.expect(StatusCode::OK).json();
    assert_eq!(deleted["data"]["affected_items"], json!(["web"]));
    assert_eq!(deleted["data"]["affected_agents"], json!(["001"]));
    assert!(!h.home.join("etc/shared/web").exists());
    assert_eq!(h.get("/agents?agents_list=001").await.items()[0]["group"], json!(["default"]));
}
