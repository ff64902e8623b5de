//! The envelope and Wazuh's query parameters, on `/agents`.

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::Harness;

async fn seeded() -> Harness {
    let h = Harness::new().await;
    h.agents(&[("web-1", &["default", "web"]), ("web-2", &["web"]), ("db-1", &["db"]), ("mail", &[])]);
    h
}

fn ids(items: &[serde_json::Value]) -> Vec<String> {
    items.iter().map(|a| a["id"].as_str().unwrap_or("?").to_owned()).collect()
}

#[tokio::test]
async fn the_envelope_has_wazuhs_shape_and_pages() {
    let h = seeded().await;
    let body = h.get("/agents?offset=1&limit=2").await.expect(StatusCode::OK).json();
    assert_eq!(body["error"], 0);
    assert_eq!(body["message"], "All selected agents information was returned");
    assert_eq!(body["data"]["total_affected_items"], 5, "the manager and four agents");
    assert_eq!(body["data"]["total_failed_items"], 0);
    assert_eq!(body["data"]["failed_items"], json!([]));
    assert_eq!(ids(body["data"]["affected_items"].as_array().expect("test value")), ["001", "002"]);
    let first = h.get("/agents?limit=1").await.items();
    assert_eq!(first[0]["id"], "000");
    assert_eq!(first[0]["status"], "active");
}

#[tokio::test]
async fn q_sort_search_select_and_distinct() {
    let h = seeded().await;
    let web = h.get("/agents?q=group%3Dweb%3Bname~1").await.items();
    assert_eq!(ids(&web), ["001"]);
    let either = h.get("/agents?q=(name%3Ddb-1,name%3Dmail);id!%3D000").await.items();
    assert_eq!(ids(&either), ["003", "004"]);
    let sorted = h.get("/agents?sort=-name&q=id!%3D000").await.items();
    assert_eq!(ids(&sorted), ["002", "001", "004", "003"]);
    let found = h.get("/agents?search=mai").await.items();
    assert_eq!(ids(&found), ["004"]);
    let selected = h.get("/agents?select=name&agents_list=002").await.items();
    assert_eq!(selected, vec![json!({"id": "002", "name": "web-2"})]);
    let statuses = h.get("/agents?select=status&distinct=true").await.items();
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    let by_status = h.get("/agents?status=never_connected").await.json();
    assert_eq!(by_status["data"]["total_affected_items"], 4);
    let by_group = h.get("/agents?group=db").await.items();
    assert_eq!(ids(&by_group), ["003"]);
    let pretty = h.get("/agents?pretty=true&limit=1").await.expect(StatusCode::OK);
    assert!(pretty.text.contains("\n  \"data\""), "{}", pretty.text);
}

#[tokio::test]
async fn arrays_come_as_comma_lists_or_repeated_keys() {
    let h = seeded().await;
    let a = h.get("/agents?agents_list=001,003").await.items();
    let b = h.get("/agents?agents_list=001&agents_list=003").await.items();
    assert_eq!(ids(&a), ["001", "003"]);
    assert_eq!(a, b);
    let missing = h.get("/agents?agents_list=001,099").await.json();
    assert_eq!(missing["error"], 2);
    assert_eq!(missing["message"], "Some agents information was not returned");
    assert_eq!(missing["data"]["failed_items"][0]["error"]["code"], 1701);
}

#[tokio::test]
async fn invalid_queries_get_400_with_wazuhs_codes() {
    let h = seeded().await;
    let bad_q = h.get("/agents?q=name%3D%3D(").await.expect(StatusCode::BAD_REQUEST);
    assert_eq!(bad_q.json()["error"], 1407);
    let bad_select = h.get("/agents?select=nonexistent").await.expect(StatusCode::BAD_REQUEST);
    assert_eq!(bad_select.json()["error"], 1724);
    h.get("/agents?limit=100001").await.expect(StatusCode::BAD_REQUEST);
    h.get("/agents?limit=0").await.expect(StatusCode::BAD_REQUEST);
    h.get("/agents?offset=-1").await.expect(StatusCode::BAD_REQUEST);
    h.get("/agents?status=sleeping").await.expect(StatusCode::BAD_REQUEST);
    h.get("/agents?older_than=5y").await.expect(StatusCode::BAD_REQUEST);
    let unknown = h.get("/agents?colour=blue").await.expect(StatusCode::BAD_REQUEST);
    assert!(unknown.json()["detail"].as_str().expect("test value").contains("colour"));
    h.get("/agents?pretty=maybe").await.expect(StatusCode::BAD_REQUEST);
    assert_eq!(h.get("/agents?limit=100000").await.status, StatusCode::OK);
}
