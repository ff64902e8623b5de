//! `/security/*`: users, roles, policies, rules and their links.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Harness, Payload};

#[tokio::test]
async fn wazuhs_defaults_are_there_and_protected() {
    let h = Harness::new().await;
    let users = h.get("/security/users").await.items();
    let names: Vec<&str> = users.iter().map(|u| u["username"].as_str().expect("test value")).collect();
    assert_eq!(names, ["wazuh", "wazuh-wui"]);
    assert!(users[0].get("password").is_none(), "no hash leaves the server");
    let roles = h.get("/security/roles").await.json();
    assert_eq!(roles["data"]["total_affected_items"], 7);
    let policies = h.get("/security/policies?limit=1").await.json();
    assert_eq!(policies["data"]["total_affected_items"], 35);
    let rules = h.get("/security/rules").await.items();
    assert_eq!(rules[1]["rule"], json!({"FIND": {"user_name": "admin"}}));
    let reserved = h.admin(Method::DELETE, "/security/roles?role_ids=1", Payload::None).await.json();
    assert_eq!(reserved["data"]["failed_items"][0]["error"]["code"], 4008);
    let admin_user = h.admin(Method::DELETE, "/security/users?user_ids=1", Payload::None).await.json();
    assert_eq!(admin_user["data"]["failed_items"][0]["error"]["code"], 5004);
    let me = h.get("/security/users/me").await.items();
    assert_eq!(me[0]["username"], "wazuh");
    let actions = h.get("/security/actions").await.json();
    assert!(actions["data"]["agent:read"].is_object());
}

#[tokio::test]
async fn users_roles_policies_and_rules_are_managed() {
    let h = Harness::new().await;
    let weak = h
        .admin(Method::POST, "/security/users", Payload::Json(json!({"username": "alice", "password": "short"})))
        .await;
    assert_eq!(weak.expect(StatusCode::BAD_REQUEST).json()["error"], 5009);
    let classes = h
        .admin(
            Method::POST,
            "/security/users",
            Payload::Json(json!({"username": "alice", "password": "alllowercase123"})),
        )
        .await;
    assert_eq!(classes.expect(StatusCode::BAD_REQUEST).json()["error"], 5007);
    let token = h.user_with_roles("alice", &[2]).await;
    let alice = h.get("/security/users?search=alice").await.items();
    let id = alice[0]["id"].as_u64().expect("test value");
    assert!(id >= 100, "user ids above the reserved range");
    assert_eq!(alice[0]["roles"], json!([2]));
    h.admin(Method::PUT, &format!("/security/users/{id}"), Payload::Json(json!({"password": "New-Passw0rd!"})))
        .await
        .expect(StatusCode::OK);
    h.call(Method::GET, "/agents", Some(&token), Payload::None).await.expect(StatusCode::UNAUTHORIZED);
    h.login("alice", "New-Passw0rd!").await;
    h.admin(Method::PUT, &format!("/security/users/{id}/run_as?allow_run_as=true"), Payload::None)
        .await
        .expect(StatusCode::OK);
    let rule = h
        .admin(
            Method::POST,
            "/security/rules",
            Payload::Json(json!({"name": "ops", "rule": {"MATCH": {"team": "ops"}}})),
        )
        .await
        .expect(StatusCode::OK);
    let rule_id = rule.items()[0]["id"].as_u64().expect("test value");
    let role =
        h.admin(Method::POST, "/security/roles", Payload::Json(json!({"name": "ops"}))).await.expect(StatusCode::OK);
    let role_id = role.items()[0]["id"].as_u64().expect("test value");
    h.admin(Method::POST, &format!("/security/roles/{role_id}/rules?rule_ids={rule_id}"), Payload::None)
        .await
        .expect(StatusCode::OK);
    h.admin(Method::POST, &format!("/security/roles/{role_id}/policies?policy_ids=4"), Payload::None)
        .await
        .expect(StatusCode::OK);
    let dup = h
        .admin(Method::POST, &format!("/security/roles/{role_id}/policies?policy_ids=4,999"), Payload::None)
        .await
        .json();
    let codes: Vec<u64> = dup["data"]["failed_items"]
        .as_array()
        .expect("test value")
        .iter()
        .map(|f| f["error"]["code"].as_u64().expect("test value"))
        .collect();
    assert_eq!(codes, [4007, 4017]);
    let run_as = h
        .basic(
            Method::POST,
            "/security/user/authenticate/run_as?raw=true",
            "alice",
            "New-Passw0rd!",
            Some(json!({"team": "ops"})),
        )
        .await
        .expect(StatusCode::OK);
    h.call(Method::GET, "/agents", Some(&run_as.text), Payload::None).await.expect(StatusCode::OK);
    h.call(Method::GET, "/groups", Some(&run_as.text), Payload::None).await.expect(StatusCode::FORBIDDEN);
    h.admin(Method::PUT, &format!("/security/roles/{role_id}"), Payload::Json(json!({"name": "operations"})))
        .await
        .expect(StatusCode::OK);
    h.call(Method::GET, "/agents", Some(&run_as.text), Payload::None).await.expect(StatusCode::UNAUTHORIZED);
    let policy =
        json!({"name": "no_mitre", "policy": {"actions": ["mitre:read"], "resources": ["*:*:*"], "effect": "deny"}});
    let created =
        h.admin(Method::POST, "/security/policies", Payload::Json(policy.clone())).await.expect(StatusCode::OK);
    let policy_id = created.items()[0]["id"].as_u64().expect("test value");
    let again =
        h.admin(Method::POST, "/security/policies", Payload::Json(policy)).await.expect(StatusCode::BAD_REQUEST);
    assert_eq!(again.json()["error"], 4009);
    let bad_action =
        json!({"name": "bad", "policy": {"actions": ["agent:fly"], "resources": ["*:*:*"], "effect": "allow"}});
    h.admin(Method::POST, "/security/policies", Payload::Json(bad_action)).await.expect(StatusCode::BAD_REQUEST);
    let removed = h
        .admin(Method::DELETE, &format!("/security/policies?policy_ids={policy_id}"), Payload::None)
        .await
        .expect(StatusCode::OK);
    assert_eq!(removed.json()["data"]["total_affected_items"], 1);
    let self_delete = h.call(Method::DELETE, "/security/users?user_ids=1", Some(&h.admin), Payload::None).await.json();
    assert_eq!(self_delete["data"]["failed_items"][0]["error"]["code"], 5004);
    h.admin(Method::DELETE, &format!("/security/users?user_ids={id}"), Payload::None).await.expect(StatusCode::OK);
    h.basic(Method::POST, "/security/user/authenticate", "alice", "New-Passw0rd!", None)
        .await
        .expect(StatusCode::UNAUTHORIZED);
}
