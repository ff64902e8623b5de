//! Wazuh's default roles against a sample of routes, and policies that deny or list silently.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Harness, Payload};

/// Sample routes and, per default role (administrator, readonly, users_admin, agents_readonly,
/// agents_admin, cluster_readonly, cluster_admin), whether it may call them.
const MATRIX: &[(&str, &str, [bool; 7])] = &[
    ("GET", "/agents", [true, true, false, true, true, false, false]),
    ("POST", "/agents", [true, false, false, false, true, false, false]),
    ("GET", "/groups", [true, true, false, true, true, false, false]),
    ("GET", "/manager/info", [true, true, false, false, false, true, true]),
    ("GET", "/cluster/status", [true, true, false, false, false, true, true]),
    ("GET", "/security/users", [true, false, true, false, false, false, false]),
    ("GET", "/rules/files", [true, true, false, false, false, false, false]),
    ("GET", "/security/config", [true, false, false, false, false, false, false]),
    ("GET", "/lists/files", [true, true, false, false, false, false, false]),
];

#[tokio::test]
async fn each_default_role_gets_what_wazuh_gives_it() {
    let h = Harness::new().await;
    for role in 1..=7u32 {
        let token = h.user_with_roles(&format!("role{role}user"), &[role]).await;
        for (method, path, allowed) in MATRIX {
            let method: Method = method.parse().expect("test value");
            let payload = if method == Method::POST {
                Payload::Json(json!({"name": format!("agent-r{role}")}))
            } else {
                Payload::None
            };
            let reply = h.call(method.clone(), path, Some(&token), payload).await;
            let want = allowed[role as usize - 1];
            if want {
                assert_eq!(reply.status, StatusCode::OK, "role {role} {method} {path}: {}", reply.text);
            } else {
                assert_eq!(reply.status, StatusCode::FORBIDDEN, "role {role} {method} {path}: {}", reply.text);
                assert_eq!(reply.json()["error"], 4000);
            }
        }
    }
}

#[tokio::test]
async fn a_deny_policy_hides_agents_from_lists_and_fails_named_ones() {
    let h = Harness::new().await;
    h.agents(&[("web-1", &["default"]), ("db-1", &["db"])]);
    let policy = h
        .admin(
            Method::POST,
            "/security/policies",
            Payload::Json(json!({"name": "no_db", "policy": {"actions": ["agent:read"], "resources": ["agent:group:db"], "effect": "deny"}})),
        )
        .await
        .expect(StatusCode::OK);
    let policy_id = policy.items()[0]["id"].as_u64().expect("test value");
    let role = h
        .admin(Method::POST, "/security/roles", Payload::Json(json!({"name": "agents_but_db"})))
        .await
        .expect(StatusCode::OK);
    let role_id = role.items()[0]["id"].as_u64().expect("test value");
    // agents_read_agents (policy 4) first, then the deny.
    h.admin(Method::POST, &format!("/security/roles/{role_id}/policies?policy_ids=4,{policy_id}"), Payload::None)
        .await
        .expect(StatusCode::OK);
    let token = h.user_with_roles("limited", &[role_id as u32]).await;
    let listed = h.call(Method::GET, "/agents", Some(&token), Payload::None).await.expect(StatusCode::OK);
    let ids: Vec<String> = listed.items().iter().map(|a| a["id"].as_str().expect("test value").to_owned()).collect();
    assert_eq!(ids, ["000", "001"]);
    let named =
        h.call(Method::GET, "/agents?agents_list=001,002", Some(&token), Payload::None).await.expect(StatusCode::OK);
    let body = named.json();
    assert_eq!(body["error"], 2);
    assert_eq!(body["data"]["failed_items"][0]["error"]["code"], 4000);
    assert_eq!(body["data"]["failed_items"][0]["id"], json!(["002"]));
    let policies =
        h.call(Method::GET, "/security/users/me/policies", Some(&token), Payload::None).await.expect(StatusCode::OK);
    assert_eq!(policies.json()["data"]["agent:read"]["agent:group:db"], "deny");
    assert_eq!(policies.json()["data"]["rbac_mode"], "white");
}

#[tokio::test]
async fn black_mode_allows_what_no_policy_denies() {
    let h = Harness::new().await;
    let token = h.user_with_roles("noroles", &[]).await;
    h.call(Method::GET, "/agents", Some(&token), Payload::None).await.expect(StatusCode::FORBIDDEN);
    h.admin(Method::PUT, "/security/config", Payload::Json(json!({"rbac_mode": "black"}))).await.expect(StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let token = h.login("noroles", "Vigil-Test-1234!").await;
    h.call(Method::GET, "/agents", Some(&token), Payload::None).await.expect(StatusCode::OK);
    h.call(Method::GET, "/manager/info", Some(&token), Payload::None).await.expect(StatusCode::OK);
}

/// A user with the given single policy body (and nothing else); returns its token and id.
async fn user_with_policy(h: &Harness, name: &str, policy: serde_json::Value) -> (String, u64) {
    let created = h
        .admin(
            Method::POST,
            "/security/policies",
            Payload::Json(json!({"name": format!("{name}_policy"), "policy": policy})),
        )
        .await
        .expect(StatusCode::OK);
    let policy_id = created.items()[0]["id"].as_u64().expect("policy id");
    let role = h.admin(Method::POST, "/security/roles", Payload::Json(json!({"name": format!("{name}_role")}))).await;
    let role_id = role.items()[0]["id"].as_u64().expect("role id");
    h.admin(Method::POST, &format!("/security/roles/{role_id}/policies?policy_ids={policy_id}"), Payload::None)
        .await
        .expect(StatusCode::OK);
    let token = h.user_with_roles(name, &[u32::try_from(role_id).expect("small id")]).await;
    let id = h.get(&format!("/security/users?search={name}")).await.items()[0]["id"].as_u64().expect("user id");
    (token, id)
}

#[tokio::test]
async fn rights_on_a_user_do_not_extend_to_the_roles_linked_to_it() {
    let h = Harness::new().await;
    let (token, id) = user_with_policy(
        &h,
        "selfeditor",
        json!({"actions": ["security:update"], "resources": ["user:id:100", "user:id:101", "user:id:102"], "effect": "allow"}),
    )
    .await;
    let escalate =
        h.call(Method::POST, &format!("/security/users/{id}/roles?role_ids=1"), Some(&token), Payload::None).await;
    let body = escalate.expect(StatusCode::OK).json();
    assert_eq!(body["data"]["failed_items"][0]["error"]["code"], 4000, "{body}");
    assert_eq!(body["data"]["total_affected_items"], 0);
    // Wazuh's own users keep their roles.
    let reserved = h.admin(Method::POST, "/security/users/1/roles?role_ids=2", Payload::None).await.json();
    assert_eq!(reserved["data"]["failed_items"][0]["error"]["code"], 4008);
    // Resourceless actions need `*:*:*`: a right on users does not create them.
    let (creator, _) = user_with_policy(
        &h,
        "notcreator",
        json!({"actions": ["security:create_user"], "resources": ["user:id:*"], "effect": "allow"}),
    )
    .await;
    let create = json!({"username": "newbie", "password": "Vigil-Test-1234!"});
    h.call(Method::POST, "/security/users", Some(&creator), Payload::Json(create)).await.expect(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn overwriting_a_file_needs_the_right_to_delete_it_and_deleted_users_lose_their_tokens() {
    let h = Harness::new().await;
    let policy = json!({"actions": ["rules:update", "rules:delete"], "resources": ["*:*:*", "rule:file:mine.xml"], "effect": "allow"});
    let (token, id) = user_with_policy(&h, "ruleeditor", policy).await;
    std::fs::write(h.home.join("etc/rules/other.xml"), "<group name=\"x,\"></group>").expect("a user file");
    let overwrite = h
        .call(
            Method::PUT,
            "/rules/files/other.xml?overwrite=true",
            Some(&token),
            Payload::Raw("application/octet-stream", b"<group name=\"y,\"></group>".to_vec()),
        )
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(overwrite["data"]["failed_items"][0]["error"]["code"], 4000);
    assert_eq!(
        std::fs::read_to_string(h.home.join("etc/rules/other.xml")).expect("file"),
        "<group name=\"x,\"></group>"
    );
    h.admin(Method::DELETE, &format!("/security/users?user_ids={id}"), Payload::None).await.expect(StatusCode::OK);
    h.admin(
        Method::POST,
        "/security/users",
        Payload::Json(json!({"username": "ruleeditor", "password": "Vigil-Test-1234!"})),
    )
    .await
    .expect(StatusCode::OK);
    h.call(Method::GET, "/rules/files", Some(&token), Payload::None).await.expect(StatusCode::UNAUTHORIZED);
    // Hostile field paths do not break the distinct counts.
    h.agents(&[("d1", &[])]);
    h.get("/agents/stats/distinct?fields=name,name.x").await.expect(StatusCode::OK);
}
