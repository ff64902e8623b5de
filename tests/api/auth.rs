//! Logging in, token lifetime, revocation, lockout and the request rate.

use axum::http::{Method, StatusCode};
use serde_json::json;
use vigil::api::auth::jwt::{AUDIENCE, Claims, ISSUER, Tokens};
use vigil::api::rbac::Mode;

use crate::harness::{Harness, Payload, default_password};

#[tokio::test]
async fn login_gives_a_token_raw_or_in_the_envelope_and_bad_credentials_get_401() {
    let h = Harness::new().await;
    let password = default_password(&h.home, "wazuh-wui");
    let reply =
        h.basic(Method::POST, "/security/user/authenticate", "wazuh-wui", &password, None).await.expect(StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["error"], 0);
    let token = body["data"]["token"].as_str().expect("token");
    assert_eq!(token.split('.').count(), 3, "a JWT");
    h.call(Method::GET, "/agents", Some(token), Payload::None).await.expect(StatusCode::OK);
    let bad = h
        .basic(Method::POST, "/security/user/authenticate", "wazuh-wui", "wrong", None)
        .await
        .expect(StatusCode::UNAUTHORIZED);
    assert_eq!(bad.json()["title"], "Unauthorized");
    h.basic(Method::POST, "/security/user/authenticate", "nobody", "x", None).await.expect(StatusCode::UNAUTHORIZED);
    h.call(Method::GET, "/agents", None, Payload::None).await.expect(StatusCode::UNAUTHORIZED);
    // The password file is the owner's only.
    let mode = std::fs::metadata(h.home.join(vigil::api::PASSWORDS_FILE)).expect("test value");
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777, 0o600);
}

fn claims(sub: &str, nbf: i64, exp: i64) -> Claims {
    Claims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        nbf,
        exp,
        sub: sub.into(),
        uid: 1,
        run_as: false,
        rbac_roles: vec![1],
        rbac_mode: Mode::White,
        issued_ms: nbf * 1000,
    }
}

#[tokio::test]
async fn expired_forged_and_foreign_tokens_are_refused() {
    let h = Harness::new().await;
    let now = vigil::server::now();
    let ours = Tokens::open(&h.home).expect("test value");
    let expired = ours.issue(&claims("wazuh", now - 1000, now - 10)).expect("test value");
    h.call(Method::GET, "/agents", Some(&expired), Payload::None).await.expect(StatusCode::UNAUTHORIZED);
    let valid = ours.issue(&claims("wazuh", now, now + 600)).expect("test value");
    h.call(Method::GET, "/agents", Some(&valid), Payload::None).await.expect(StatusCode::OK);
    let ghost = ours.issue(&claims("ghost", now, now + 600)).expect("test value");
    h.call(Method::GET, "/agents", Some(&ghost), Payload::None).await.expect(StatusCode::UNAUTHORIZED);
    let other_home = tempfile::tempdir().expect("test value");
    let foreign = Tokens::open(other_home.path())
        .expect("test value")
        .issue(&claims("wazuh", now, now + 600))
        .expect("test value");
    h.call(Method::GET, "/agents", Some(&foreign), Payload::None).await.expect(StatusCode::UNAUTHORIZED);
    let hmac = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims("wazuh", now, now + 600),
        &jsonwebtoken::EncodingKey::from_secret(b"secret"),
    )
    .expect("test value");
    h.call(Method::GET, "/agents", Some(&hmac), Payload::None).await.expect(StatusCode::UNAUTHORIZED);
    use base64::Engine as _;
    let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none"}"#),
        b64(&serde_json::to_vec(&claims("wazuh", now, now + 600)).expect("test value"))
    );
    h.call(Method::GET, "/agents", Some(&none), Payload::None).await.expect(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn revocation_logout_and_config_changes_end_tokens() {
    let h = Harness::new().await;
    let password = default_password(&h.home, "wazuh");
    let first = h.login("wazuh", &password).await;
    h.call(Method::PUT, "/security/user/revoke", Some(&first), Payload::None).await.expect(StatusCode::OK);
    h.call(Method::GET, "/agents", Some(&first), Payload::None).await.expect(StatusCode::UNAUTHORIZED);
    h.call(Method::GET, "/agents", Some(&h.admin), Payload::None).await.expect(StatusCode::UNAUTHORIZED);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second = h.login("wazuh", &password).await;
    h.call(Method::GET, "/agents", Some(&second), Payload::None).await.expect(StatusCode::OK);
    h.call(Method::DELETE, "/security/user/authenticate", Some(&second), Payload::None).await.expect(StatusCode::OK);
    h.call(Method::GET, "/agents", Some(&second), Payload::None).await.expect(StatusCode::UNAUTHORIZED);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let third = h.login("wazuh", &password).await;
    let reply = h
        .call(Method::PUT, "/security/config", Some(&third), Payload::Json(json!({"auth_token_exp_timeout": 60})))
        .await
        .expect(StatusCode::OK);
    assert_eq!(reply.json()["message"], "Configuration was successfully updated");
    h.call(Method::GET, "/agents", Some(&third), Payload::None).await.expect(StatusCode::UNAUTHORIZED);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let fourth = h.login("wazuh", &password).await;
    let config = h.call(Method::GET, "/security/config", Some(&fourth), Payload::None).await.expect(StatusCode::OK);
    assert_eq!(config.json()["data"], json!({"auth_token_exp_timeout": 60, "rbac_mode": "white"}));
    h.call(Method::PUT, "/security/config", Some(&fourth), Payload::Json(json!({"auth_token_exp_timeout": 5})))
        .await
        .expect(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn repeated_failures_block_the_address_with_6000() {
    let h = Harness::with(false, |c| c.api.max_login_attempts = 3).await;
    for _ in 0..3 {
        h.basic(Method::POST, "/security/user/authenticate", "wazuh", "wrong", None)
            .await
            .expect(StatusCode::UNAUTHORIZED);
    }
    let password = default_password(&h.home, "wazuh");
    let blocked = h
        .basic(Method::POST, "/security/user/authenticate", "wazuh", &password, None)
        .await
        .expect(StatusCode::FORBIDDEN);
    assert_eq!(blocked.json()["error"], 6000);
}

#[tokio::test]
async fn the_request_rate_is_limited_per_client_with_6001() {
    let h = Harness::with(false, |c| c.api.max_request_per_minute = 5).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(h.get("/agents").await.status);
    }
    // The login counted as one request of the minute.
    assert!(statuses[..4].iter().all(|s| *s == StatusCode::OK), "{statuses:?}");
    let over = h.get("/agents").await.expect(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(over.json()["error"], 6001);
}

#[tokio::test]
async fn run_as_logins_take_their_roles_from_security_rules() {
    let h = Harness::new().await;
    let password = default_password(&h.home, "wazuh-wui");
    let uri = "/security/user/authenticate/run_as?raw=true";
    let admin = h
        .basic(Method::POST, uri, "wazuh-wui", &password, Some(json!({"user_name": "admin"})))
        .await
        .expect(StatusCode::OK);
    let me = h.call(Method::GET, "/security/users/me", Some(&admin.text), Payload::None).await.expect(StatusCode::OK);
    assert_eq!(me.items()[0]["roles"][0]["name"], "administrator");
    let nobody = h
        .basic(Method::POST, uri, "wazuh-wui", &password, Some(json!({"user_name": "bob"})))
        .await
        .expect(StatusCode::OK);
    h.call(Method::GET, "/agents", Some(&nobody.text), Payload::None).await.expect(StatusCode::FORBIDDEN);
    // A user without allow_run_as cannot use it.
    h.user_with_roles("plainuser", &[2]).await;
    h.basic(Method::POST, uri, "plainuser", "Vigil-Test-1234!", Some(json!({}))).await.expect(StatusCode::UNAUTHORIZED);
}
