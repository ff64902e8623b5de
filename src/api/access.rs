//! Who may call what. Every route is added through [`Routes::add`], which takes the route's
//! [`Access`]: there is no other way to add one, so no route can lack a declared action. One
//! middleware per route enforces it: rate limit, token, user, revocation, then the actions.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::handler::Handler;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodFilter;

use super::Api;
use super::error::ApiError;
use super::rbac::{Action, Permissions};

/// Time a client has to send a request's body.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Nothing (`GET /`, the health check).
    Public,
    /// HTTP Basic credentials, checked by the login handler itself (the login routes).
    Login,
    /// Any valid token (`/security/users/me`, logout).
    Token,
    /// A valid token whose policies allow every one of these actions on something.
    Actions(&'static [Action]),
}

/// A route as declared.
#[derive(Debug, Clone)]
pub struct Declared {
    /// Method.
    pub method: Method,
    /// Path template (`/agents/{agent_id}`).
    pub path: &'static str,
    /// Requirement.
    pub access: Access,
}

/// The authenticated caller.
#[derive(Debug)]
pub struct Principal {
    /// User id.
    pub user_id: u32,
    /// Username.
    pub username: String,
    /// Role ids the token carries.
    pub roles: Vec<u32>,
    /// Logged in through run_as.
    pub run_as: bool,
    /// Processed permissions.
    pub permissions: Permissions,
}

/// The router being built, with every route's declaration.
pub struct Routes {
    api: Arc<Api>,
    router: Router<Arc<Api>>,
    declared: Vec<Declared>,
}

impl Routes {
    /// An empty router for `api`.
    pub fn new(api: Arc<Api>) -> Self {
        Self { api, router: Router::new(), declared: Vec::new() }
    }

    /// Adds `handler` on `method path`, guarded by `access`.
    pub fn add<H, T>(mut self, method: Method, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, Arc<Api>>,
        T: 'static,
    {
        let Ok(filter) = MethodFilter::try_from(method.clone()) else {
            tracing::error!(stage = "api", %method, path, "unsupported method; route not added");
            return self;
        };
        let guard = axum::middleware::from_fn_with_state((Arc::clone(&self.api), access), check);
        let route = axum::routing::on(filter, handler).route_layer(guard);
        self.router = self.router.route(path, route);
        self.declared.push(Declared { method, path, access });
        self
    }

    /// The finished router.
    pub fn finish(self) -> (Router, Vec<Declared>) {
        let router = self
            .router
            .fallback(|| async { ApiError::not_found("404: Not Found") })
            .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
            .with_state(self.api);
        (router, self.declared)
    }
}

/// The client address (loopback when the connection did not record one, as in tests).
pub fn client_ip(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| crate::store::agent::unmapped(c.0.ip()))
}

/// The per-route guard.
async fn check(State((api, access)): State<(Arc<Api>, Access)>, request: Request, next: Next) -> Response {
    let now = crate::server::now();
    let ip = client_ip(&request);
    if !api.guard.admit(ip, now) {
        return ApiError::too_many_requests().into_response();
    }
    if let Some(length) =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        && api.config.api.max_upload_size > 0
        && length > api.config.api.max_upload_size
    {
        return ApiError::too_large(api.config.api.max_upload_size).into_response();
    }
    // Who asks, and whether they may, before anything of the body is read.
    let principal = match access {
        Access::Public | Access::Login => None,
        Access::Token | Access::Actions(_) => {
            let principal = match authenticate(&api, &request, now) {
                Ok(p) => p,
                Err(e) => return e.into_response(),
            };
            if let Access::Actions(actions) = access
                && let Some(denied) = actions.iter().find(|a| !may(&principal.permissions, **a))
            {
                let scope = super::routes::resource_type(*denied);
                return ApiError::permission_denied(format!("Permission denied: Resource type: {scope}"))
                    .into_response();
            }
            Some(Arc::new(principal))
        }
    };
    // The body is read here, within the limit, whatever the client announced.
    let limit = match api.config.api.max_upload_size {
        0 => usize::MAX,
        n => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let (parts, body) = request.into_parts();
    // A body that trickles in is cut off like a slow request.
    let body = match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => return ApiError::too_large(api.config.api.max_upload_size).into_response(),
        Err(_) => {
            return ApiError::bad_request("the request body did not arrive in time")
                .with_status(axum::http::StatusCode::REQUEST_TIMEOUT)
                .into_response();
        }
    };
    let mut request = Request::from_parts(parts, axum::body::Body::from(body));
    if let Some(principal) = principal {
        request.extensions_mut().insert(principal);
    }
    // The parameters every route takes are checked here, once.
    let params = super::query::Params::parse(request.uri().query());
    let wait = match params.flag("pretty", false).and_then(|_| params.flag("wait_for_complete", false)) {
        Ok(_) => params.flag("wait_for_complete", false).unwrap_or(false),
        Err(e) => return e.into_response(),
    };
    if wait {
        return next.run(request).await;
    }
    match tokio::time::timeout(api.config.api.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::timeout().into_response(),
    }
}

/// Whether `action` may be allowed at all: a resourceless action must be allowed on `*:*:*`
/// itself; others on something of their type.
fn may(permissions: &Permissions, action: Action) -> bool {
    if action.scope() == super::rbac::action::Scope::None {
        permissions.allows(action, &super::rbac::Target::Nothing)
    } else {
        permissions.may(action)
    }
}

/// The caller behind the request's bearer token.
fn authenticate(api: &Api, request: &Request, now: i64) -> Result<Principal, ApiError> {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .ok_or_else(|| ApiError::unauthorized("No authorization token provided"))?;
    let claims = api.tokens.verify(token.trim(), now).map_err(|_| ApiError::unauthorized("Invalid token"))?;
    let security = api.security.snapshot();
    let invalid = || ApiError::unauthorized("Invalid token");
    let user = security.user_named(&claims.sub).filter(|u| u.id == claims.uid).ok_or_else(invalid)?;
    // A token stops working when the user's roles, the mode or a revocation say so.
    if (!claims.run_as && user.roles != claims.rbac_roles)
        || claims.rbac_mode != security.config.rbac_mode
        || security.is_revoked(user.id, &claims.rbac_roles, claims.issued_ms)
        || (claims.run_as && !user.allow_run_as)
    {
        return Err(invalid());
    }
    Ok(Principal {
        user_id: user.id,
        username: user.username.clone(),
        roles: claims.rbac_roles.clone(),
        run_as: claims.run_as,
        permissions: security.permissions(&claims.rbac_roles),
    })
}
