//! `/agents`: registration, keys, summaries, group assignment, removal and commands.

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use serde_json::json;

use crate::harness::{Harness, Payload};

#[tokio::test]
async fn agents_are_registered_keyed_listed_and_removed() {
    let h = Harness::new().await;
    let added = h
        .admin(Method::POST, "/agents", Payload::Json(json!({"name": "api-agent", "ip": "10.1.2.3"})))
        .await
        .expect(StatusCode::OK);
    let body = added.json();
    assert_eq!(body["data"]["id"], "001");
    let key = base64::engine::general_purpose::STANDARD
        .decode(body["data"]["key"].as_str().expect("test value"))
        .expect("test value");
    let line = String::from_utf8(key).expect("test value");
    assert!(line.starts_with("001 api-agent 10.1.2.3 "), "{line}");
    let dup = h
        .admin(Method::POST, "/agents", Payload::Json(json!({"name": "api-agent"})))
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert_eq!(dup.json()["error"], 1705);
    h.admin(Method::POST, "/agents/insert/quick?agent_name=quick-one", Payload::None).await.expect(StatusCode::OK);
    let key64 = "a".repeat(64);
    let inserted = h
        .admin(Method::POST, "/agents/insert", Payload::Json(json!({"name": "fixed", "id": "050", "key": key64})))
        .await
        .expect(StatusCode::OK);
    assert_eq!(inserted.json()["data"]["id"], "050");
    let short = h
        .admin(Method::POST, "/agents/insert", Payload::Json(json!({"name": "short", "id": "051", "key": "abc"})))
        .await;
    assert_eq!(short.expect(StatusCode::BAD_REQUEST).json()["error"], 1709);
    let keyed = h.get("/agents/050/key").await.items();
    assert!(
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(keyed[0]["key"].as_str().expect("test value"))
                .expect("test value")
        )
        .expect("test value")
        .ends_with(&key64)
    );
    let listed = h.get("/agents?q=id!%3D000").await.items();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0]["group"], json!(["default"]));
    assert_eq!(listed[0]["registerIP"], "10.1.2.3");
    // Removal: status filter and older_than (the new agents are not 7 days old, but a second
    // old once this sleep is over).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let young =
        h.admin(Method::DELETE, "/agents?agents_list=001&status=all", Payload::None).await.expect(StatusCode::OK);
    assert_eq!(young.json()["data"]["total_affected_items"], 0);
    let gone = h
        .admin(Method::DELETE, "/agents?agents_list=001,050&status=never_connected&older_than=0s", Payload::None)
        .await
        .expect(StatusCode::OK);
    let body = gone.json();
    assert_eq!(body["data"]["affected_items"], json!(["001", "050"]));
    assert_eq!(body["data"]["older_than"], "0s");
    assert!(h.api.store.agent("001".parse().expect("test value")).expect("test value").is_none());
    let manager = h.admin(Method::DELETE, "/agents?agents_list=000&status=all", Payload::None).await.json();
    assert_eq!(manager["data"]["failed_items"][0]["error"]["code"], 1703);
}

#[tokio::test]
async fn summaries_count_by_status_and_os() {
    let h = Harness::new().await;
    h.agents(&[("a1", &[]), ("a2", &[])]);
    let summary = h.get("/agents/summary/status").await.expect(StatusCode::OK).json();
    assert_eq!(
        summary["data"]["connection"],
        json!({"active": 1, "disconnected": 0, "never_connected": 2, "pending": 0, "total": 3})
    );
    assert_eq!(summary["data"]["configuration"]["total"], 3);
    let os = h.get("/agents/summary/os").await.expect(StatusCode::OK).items();
    assert_eq!(os.len(), 1, "the manager's platform: {os:?}");
    let overview = h.get("/overview/agents").await.expect(StatusCode::OK).json();
    assert_eq!(overview["data"]["agent_status"]["connection"]["total"], 3);
    assert_eq!(overview["data"]["last_registered_agent"][0]["name"], "a2");
    let no_group = h.get("/agents/no_group").await.json();
    assert_eq!(no_group["data"]["total_affected_items"], 2);
    let distinct = h.get("/agents/stats/distinct?fields=status").await.items();
    assert!(distinct.contains(&json!({"status": "never_connected", "count": 2})), "{distinct:?}");
    assert_eq!(h.get("/agents/outdated").await.json()["data"]["total_affected_items"], 0);
}

#[tokio::test]
async fn agents_move_between_groups() {
    let h = Harness::new().await;
    h.agents(&[("a1", &["default"]), ("a2", &["default"])]);
    h.admin(Method::POST, "/groups", Payload::Json(json!({"group_id": "web"}))).await.expect(StatusCode::OK);
    let put = h.admin(Method::PUT, "/agents/001/group/web", Payload::None).await.expect(StatusCode::OK).json();
    assert_eq!(put["message"], "All selected agents were assigned to web");
    let again = h.admin(Method::PUT, "/agents/001/group/web", Payload::None).await.json();
    assert_eq!(again["data"]["failed_items"][0]["error"]["code"], 1751);
    h.admin(Method::PUT, "/agents/group?group_id=web&agents_list=002&force_single_group=true", Payload::None)
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        h.get("/agents?agents_list=001,002&select=group").await.items(),
        vec![json!({"id": "001", "group": ["default", "web"]}), json!({"id": "002", "group": ["web"]}),]
    );
    h.admin(Method::DELETE, "/agents/002/group/web", Payload::None).await.expect(StatusCode::OK);
    assert_eq!(
        h.get("/agents?agents_list=002&select=group").await.items()[0]["group"],
        json!(["default"]),
        "back to default"
    );
    let only_default = h.admin(Method::DELETE, "/agents/002/group/default", Payload::None).await.json();
    assert_eq!(only_default["data"]["failed_items"][0]["error"]["code"], 1745);
    let missing = h.admin(Method::PUT, "/agents/001/group/nope", Payload::None).await.expect(StatusCode::BAD_REQUEST);
    assert_eq!(missing.json()["error"], 1710);
    h.admin(Method::DELETE, "/agents/group?agents_list=001&group_id=web", Payload::None).await.expect(StatusCode::OK);
    assert_eq!(h.get("/agents?agents_list=001&select=group").await.items()[0]["group"], json!(["default"]));
}

#[tokio::test]
async fn commands_need_the_agent_connection_service() {
    let h = Harness::new().await;
    h.agents(&[("a1", &[])]);
    let reply = h.admin(Method::PUT, "/agents/restart", Payload::None).await.expect(StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.json()["error"], 1000);
    assert!(reply.json()["detail"].as_str().expect("test value").contains("agent connection service"));
}
