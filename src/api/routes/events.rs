//! `POST /events`: events pushed through the API go into the engine as `1:API-Webhook:<event>`,
//! Wazuh's header for them; at most 100 per request and 30 requests a minute.

use std::sync::Arc;
use std::sync::Mutex;

use axum::extract::State;
use axum::http::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::api::Api;
use crate::api::access::{Access, Routes};
use crate::api::auth::guard::Window;
use crate::api::envelope::Affected;
use crate::api::error::{ApiError, ApiResult};
use crate::api::rbac::Action::EventIngest;
use crate::api::routes::extract::JsonBody;

/// Most events in one request (Wazuh's `event_ingest_model`).
pub const MAX_EVENTS: usize = 100;

/// Most requests a minute (Wazuh's `middlewares.py`), for the whole server.
pub const MAX_REQUESTS_PER_MINUTE: u32 = 30;

/// The header events get.
const HEADER: &str = "1:API-Webhook:";

/// Adds the route.
pub fn add(routes: Routes) -> Routes {
    routes.add(Method::POST, "/events", Access::Actions(&[EventIngest]), ingest)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Events {
    events: Vec<Value>,
}

/// `POST /events` requests this minute, for the whole server.
static WINDOW: Mutex<Window> = Mutex::new(Window::NEW);

async fn ingest(State(api): State<Arc<Api>>, JsonBody(events): JsonBody<Events>) -> ApiResult<Affected> {
    if !crate::sync::lock(&WINDOW).admit(crate::server::now(), MAX_REQUESTS_PER_MINUTE) {
        return Err(ApiError::too_many_requests().with_code(6005));
    }
    if events.events.is_empty() || events.events.len() > MAX_EVENTS {
        return Err(ApiError::bad_request(format!("'events' must hold 1 to {MAX_EVENTS} events")));
    }
    let sink = api
        .services
        .sink
        .clone()
        .ok_or_else(|| ApiError::wazuh(1010, "Unable to connect to queue: the engine is not running"))?;
    // Events are strings, or JSON objects sent as their compact text.
    let texts: Vec<String> =
        events.events.iter().map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_owned)).collect();
    let messages: Vec<Vec<u8>> = texts.iter().map(|t| format!("{HEADER}{t}").into_bytes()).collect();
    // Answered once the events are in the alert log (accepted, durably).
    tokio::task::spawn_blocking(move || {
        sink.handle_all(&messages);
        sink.log.barrier();
    })
    .await
    .map_err(ApiError::internal)?;
    let mut out = Affected::new(
        "All events were forwarded to analisysd",
        "Some events were forwarded to analisysd",
        "No events were forwarded to analisysd",
    );
    out.extend(texts.into_iter().map(Value::from));
    Ok(out)
}
