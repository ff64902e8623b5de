//! `GET /`: what API this is (the dashboard's health check).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use serde_json::{Value, json};

use crate::api::Api;
use crate::api::access::{Access, Routes};
use crate::api::envelope::result;

/// The Wazuh API version vigil answers as (the compatibility target).
pub const WAZUH_API_VERSION: &str = "4.14.7";

/// Adds the route.
pub fn add(routes: Routes) -> Routes {
    routes.add(Method::GET, "/", Access::Public, root)
}

/// Now, as Wazuh prints timestamps in the API.
pub fn now_iso() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

async fn root(State(api): State<Arc<Api>>) -> Json<Value> {
    result(
        json!({
            "title": "Wazuh API REST",
            "api_version": WAZUH_API_VERSION,
            "revision": env!("CARGO_PKG_VERSION"),
            "license_name": "Apache-2.0",
            "license_url": "https://www.apache.org/licenses/LICENSE-2.0",
            "hostname": api.hostname,
            "timestamp": now_iso(),
            "server": format!("vigil {}", env!("CARGO_PKG_VERSION")),
        }),
        None,
    )
}
