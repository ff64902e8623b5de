//! Every route the API serves, by family. Each family adds its routes through
//! [`Routes::add`](super::access::Routes::add), declaring what they require.

mod active_response;
mod agents;
mod cluster;
mod events;
pub mod extract;
mod groups;
mod info;
mod logtest;
mod manager;
mod mitre;
mod modules;
pub mod pick;
mod ruleset;
mod security;
mod spec;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Api;
use super::access::{Declared, Routes};
use super::error::ApiError;
use super::rbac::Action;

/// The whole API.
pub fn router(api: Arc<Api>) -> (Router, Vec<Declared>) {
    let spec_holder = Arc::clone(&api);
    let routes = Routes::new(api);
    let routes = info::add(routes);
    let routes = security::add(routes);
    let routes = agents::add(routes);
    let routes = groups::add(routes);
    let routes = modules::add(routes);
    let routes = manager::add(routes);
    let routes = cluster::add(routes);
    let routes = ruleset::add(routes);
    let routes = logtest::add(routes);
    let routes = events::add(routes);
    let routes = mitre::add(routes);
    let routes = active_response::add(routes);
    let routes = spec::add(routes);
    let (router, declared) = routes.finish();
    // Only the first router built for an Api fills its document; they are all the same.
    let _ = spec_holder.spec.set(spec::document(&declared));
    (router.layer(axum::middleware::from_fn(pretty)), declared)
}

/// The resource type named in a 403 for `action`.
pub fn resource_type(action: Action) -> &'static str {
    action.scope().resource_types().first().copied().unwrap_or("*:*")
}

/// Largest body re-rendered for `pretty` (bigger answers are sent as they are).
const PRETTY_LIMIT: usize = 64 << 20;

/// `pretty=true`: JSON answers indented.
async fn pretty(request: Request, next: Next) -> Response {
    let wanted = request
        .uri()
        .query()
        .is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "pretty" && v == "true"));
    let response = next.run(request).await;
    let is_json =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.contains("json"));
    if !wanted || !is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, PRETTY_LIMIT).await else {
        return ApiError::internal("answer too large to pretty-print").into_response();
    };
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(v) => serde_json::to_vec_pretty(&v).map_or_else(
            |_| bytes.to_vec(),
            |mut b| {
                b.push(b'\n');
                b
            },
        ),
        Err(_) => bytes.to_vec(),
    };
    let mut response = Response::from_parts(parts, Body::from(body));
    response.headers_mut().remove(header::CONTENT_LENGTH);
    response
}

pub use extract::json_body;
