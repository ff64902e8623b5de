//! Hostile requests: malformed JSON, bodies too large, traversal, wrong content types, unknown
//! fields and routes.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Harness, Payload};

#[tokio::test]
async fn malformed_and_oversized_bodies_get_wazuhs_errors() {
    let h = Harness::with(false, |c| c.api.max_upload_size = 1024).await;
    let malformed = h.admin(Method::POST, "/agents", Payload::Raw("application/json", b"{\"name\":".to_vec())).await;
    let body = malformed.expect(StatusCode::BAD_REQUEST).json();
    assert_eq!(body["error"], 1018);
    assert!(body["title"].is_string() && body["detail"].is_string());
    let wrong_type = h.admin(Method::POST, "/agents", Payload::Raw("text/plain", b"{\"name\":\"x1\"}".to_vec())).await;
    assert_eq!(wrong_type.expect(StatusCode::NOT_ACCEPTABLE).json()["error"], 6002);
    let unknown = h.admin(Method::POST, "/agents", Payload::Json(json!({"name": "x1", "colour": "red"}))).await;
    unknown.expect(StatusCode::BAD_REQUEST);
    let huge = h.admin(Method::POST, "/agents", Payload::Raw("application/json", vec![b' '; 4096])).await;
    let body = huge.expect(StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body.content_type.starts_with("application/problem+json"));
    let bad_name = h.admin(Method::POST, "/agents", Payload::Json(json!({"name": "../../etc"}))).await;
    bad_name.expect(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn file_names_cannot_leave_their_directory() {
    let h = Harness::new().await;
    for name in ["..%2F..%2Fetc%2Fossec.conf", "..", ".hidden.xml", "a%2Fb.xml", "x.txt"] {
        let reply = h
            .admin(
                Method::PUT,
                &format!("/rules/files/{name}"),
                Payload::Raw("application/octet-stream", b"<group name=\"x\"></group>".to_vec()),
            )
            .await;
        assert!(
            matches!(reply.status, StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND),
            "{name}: {} {}",
            reply.status,
            reply.text
        );
    }
    let dirname = h
        .admin(
            Method::PUT,
            "/rules/files/ok.xml?relative_dirname=..%2F..%2Ftmp",
            Payload::Raw("application/octet-stream", b"<group name=\"x\"></group>".to_vec()),
        )
        .await;
    assert_eq!(dirname.expect(StatusCode::BAD_REQUEST).json()["error"], 1801);
    h.admin(Method::DELETE, "/lists/files/..%2F..%2Fetc%2Fossec.conf", Payload::None)
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert!(h.home.join("etc/ossec.conf").exists());
    h.get("/rules/files/..%2F..%2Fetc%2Fossec.conf?raw=true").await.expect(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_wazuhs_shape() {
    let h = Harness::new().await;
    let missing = h.get("/no/such/route").await.expect(StatusCode::NOT_FOUND);
    assert!(missing.json()["title"].is_string());
    let method = h.admin(Method::PATCH, "/agents", Payload::None).await.expect(StatusCode::METHOD_NOT_ALLOWED);
    assert!(method.json()["title"].is_string());
    let garbage_token =
        h.call(Method::GET, "/agents", Some("not.a.token"), Payload::None).await.expect(StatusCode::UNAUTHORIZED);
    assert_eq!(garbage_token.json()["detail"], "Invalid token");
}
