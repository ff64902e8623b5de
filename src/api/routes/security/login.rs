//! Logging in and out: `POST /security/user/authenticate` (Basic → token),
//! `…/authenticate/run_as` (Basic plus an authorization context), `DELETE` (log out) and
//! `PUT /security/user/revoke`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, RawQuery, Request, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;

use crate::api::Api;
use crate::api::access::{Principal, client_ip};
use crate::api::auth::jwt::{AUDIENCE, Claims, ISSUER};
use crate::api::envelope::result;
use crate::api::error::{ApiError, ApiResult};
use crate::api::query::Params;
use crate::api::rbac::password;

/// Largest authorization context accepted (Wazuh refuses bigger ones with 413).
const MAX_CONTEXT: usize = 64 << 10;

/// `username:password` from a Basic header.
fn basic(headers: &HeaderMap) -> ApiResult<(String, String)> {
    let missing = || ApiError::unauthorized("Invalid credentials");
    let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(missing)?;
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic ")).ok_or_else(missing)?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| missing())?;
    let text = String::from_utf8(decoded).map_err(|_| missing())?;
    let (user, pw) = text.split_once(':').ok_or_else(missing)?;
    Ok((user.to_owned(), pw.to_owned()))
}

/// Checks the credentials (off the async threads: argon2 is slow on purpose); counts failures
/// towards the address's lockout.
async fn check_credentials(
    api: &Arc<Api>,
    request_ip: std::net::IpAddr,
    headers: &HeaderMap,
) -> ApiResult<crate::api::rbac::model::User> {
    let now = crate::server::now();
    if api.guard.is_blocked(request_ip, now) {
        return Err(ApiError::blocked());
    }
    let (username, pw) = basic(headers)?;
    let user = api.security.snapshot().user_named(&username).cloned();
    // An unknown user costs the same hash as a known one, so timing does not tell them apart.
    let stored = user.as_ref().map_or_else(|| DUMMY_HASH.clone(), |u| u.password.clone());
    let ok = tokio::task::spawn_blocking(move || password::verify(&pw, &stored)).await.unwrap_or(false);
    match user {
        Some(user) if ok => Ok(user),
        _ => {
            api.guard.failed_login(request_ip, now);
            tracing::info!(stage = "api", ip = %request_ip, user = ?username, "failed API login");
            Err(ApiError::unauthorized("Invalid credentials"))
        }
    }
}

/// A real argon2id hash, checked against when the user does not exist.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| password::hash("no such user").unwrap_or_default());

/// Issues a token and answers in the requested form.
fn answer(api: &Api, claims: &Claims, raw: bool) -> ApiResult<Response> {
    let token = api.tokens.issue(claims).map_err(ApiError::internal)?;
    if raw {
        Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], token).into_response())
    } else {
        Ok(result(json!({ "token": token }), None).into_response())
    }
}

fn claims(api: &Api, user: &crate::api::rbac::model::User, roles: Vec<u32>, run_as: bool) -> Claims {
    let security = api.security.snapshot();
    let now = jiff::Timestamp::now();
    let nbf = now.as_second();
    Claims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        nbf,
        exp: nbf + i64::try_from(security.config.auth_token_exp_timeout).unwrap_or(i64::MAX / 2),
        sub: user.username.clone(),
        uid: user.id,
        run_as,
        rbac_roles: roles,
        rbac_mode: security.config.rbac_mode,
        issued_ms: now.as_millisecond(),
    }
}

/// `POST` (and the deprecated `GET`) `/security/user/authenticate`.
pub async fn authenticate(State(api): State<Arc<Api>>, request: Request) -> ApiResult<Response> {
    let params = Params::accept(request.uri().query(), &["raw"])?;
    let raw = params.flag("raw", false)?;
    let user = check_credentials(&api, client_ip(&request), request.headers()).await?;
    answer(&api, &claims(&api, &user, user.roles.clone(), false), raw)
}

/// `POST /security/user/authenticate/run_as`: the roles come from the security rules matching
/// the body.
pub async fn run_as(State(api): State<Arc<Api>>, request: Request) -> ApiResult<Response> {
    let params = Params::accept(request.uri().query(), &["raw"])?;
    let raw = params.flag("raw", false)?;
    let ip = client_ip(&request);
    let (parts, body) = request.into_parts();
    let user = check_credentials(&api, ip, &parts.headers).await?;
    if !user.allow_run_as {
        return Err(ApiError::unauthorized(
            "The current user does not have authentication enabled through authorization context",
        )
        .with_code(6004));
    }
    let body = axum::body::to_bytes(body, MAX_CONTEXT).await.map_err(|_| {
        ApiError::too_large(MAX_CONTEXT as u64)
            .with_remediation("Auth context payload exceeds the maximum allowed size")
    })?;
    let context: serde_json::Value =
        if body.is_empty() { json!({}) } else { super::super::json_body(&parts.headers, &body)? };
    let roles = api.security.snapshot().roles_for_context(user.id, &context);
    answer(&api, &claims(&api, &user, roles, true), raw)
}

/// `DELETE /security/user/authenticate`: the caller's tokens stop working.
pub async fn logout(State(api): State<Arc<Api>>, Extension(me): Extension<Arc<Principal>>) -> ApiResult<Response> {
    let now = jiff::Timestamp::now().as_millisecond() + 1;
    api.security.update(|s| {
        s.revoked.users.insert(me.user_id, now);
        Ok::<_, ApiError>(())
    })?;
    Ok(result(json!({}), Some(&format!("User {} was successfully logged out", me.username))).into_response())
}

/// `PUT /security/user/revoke`: every token stops working.
pub async fn revoke_all(State(api): State<Arc<Api>>, RawQuery(q): RawQuery, _body: Bytes) -> ApiResult<Response> {
    Params::accept(q.as_deref(), &[])?;
    let now = jiff::Timestamp::now().as_millisecond() + 1;
    api.security.update(|s| {
        s.revoked.all = now;
        Ok::<_, ApiError>(())
    })?;
    Ok(result(json!({}), Some("User tokens were successfully revoked")).into_response())
}
