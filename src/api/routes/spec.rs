//! vigil's own OpenAPI document: the operations it serves, each with the RBAC actions it
//! enforces, Wazuh's envelope and error shapes, and Wazuh's security schemes. JSON is YAML, so
//! the same document answers `/api/spec.yaml` and `/api/spec.json`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{Method, header};
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use crate::api::Api;
use crate::api::access::{Access, Declared, Routes};
use crate::api::routes::info::WAZUH_API_VERSION;

/// Adds the routes.
pub fn add(routes: Routes) -> Routes {
    routes.add(Method::GET, "/api/spec.yaml", Access::Token, serve).add(
        Method::GET,
        "/api/spec.json",
        Access::Token,
        serve,
    )
}

async fn serve(State(api): State<Arc<Api>>) -> impl IntoResponse {
    let body = api.spec.get().map_or_else(|| "{}".to_owned(), Value::to_string);
    ([(header::CONTENT_TYPE, "application/json")], body)
}

/// A response with the given description and schema reference.
fn response(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

/// The document for `declared`.
pub fn document(declared: &[Declared]) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for route in declared {
        let path_params: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut parameters = path_params;
        parameters.push(json!({"name": "pretty", "in": "query", "schema": {"type": "boolean", "default": false}}));
        parameters
            .push(json!({"name": "wait_for_complete", "in": "query", "schema": {"type": "boolean", "default": false}}));
        let mut operation = json!({
            "operationId": format!("{}{}", route.method.as_str().to_lowercase(), route.path.replace(['/', '{', '}'], "_")),
            "parameters": parameters,
            "responses": {
                "200": response("Success", "ApiResponse"),
                "400": response("Bad request", "ApiError"),
                "401": response("Unauthorized", "ApiError"),
                "403": response("Permission denied", "ApiError"),
                "405": response("Method not allowed", "ApiError"),
                "429": response("Too many requests", "ApiError"),
            },
        });
        match route.access {
            Access::Public => operation["security"] = json!([]),
            Access::Login => operation["security"] = json!([{"basicAuth": []}]),
            Access::Token => {}
            Access::Actions(actions) => {
                operation["x-rbac-actions"] = actions.iter().map(|a| Value::from(a.as_str())).collect();
            }
        }
        let entry = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        entry[route.method.as_str().to_lowercase()] = operation;
    }
    json!({
        "openapi": "3.0.0",
        "info": {
            "title": "vigil REST API (the Wazuh API operations vigil serves)",
            "version": WAZUH_API_VERSION,
            "x-vigil-version": env!("CARGO_PKG_VERSION"),
        },
        "servers": [{"url": "{protocol}://{host}:{port}", "variables": {
            "protocol": {"default": "https"}, "host": {"default": "localhost"}, "port": {"default": "55000"}}}],
        "security": [{"jwt": []}],
        "components": {
            "securitySchemes": {
                "basicAuth": {"type": "http", "scheme": "basic"},
                "jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
            "schemas": {
                "ApiResponse": {"type": "object", "properties": {
                    "data": {"type": "object", "properties": {
                        "affected_items": {"type": "array", "items": {}},
                        "total_affected_items": {"type": "integer"},
                        "total_failed_items": {"type": "integer"},
                        "failed_items": {"type": "array", "items": {"type": "object", "properties": {
                            "error": {"type": "object", "properties": {
                                "code": {"type": "integer"}, "message": {"type": "string"}, "remediation": {"type": "string"}}},
                            "id": {"type": "array", "items": {"type": "string"}}}}},
                    }},
                    "message": {"type": "string"},
                    "error": {"type": "integer", "enum": [0, 1, 2]},
                }},
                "ApiError": {"type": "object", "properties": {
                    "title": {"type": "string"}, "detail": {"type": "string"}, "remediation": {"type": "string"},
                    "error": {"type": "integer"}}},
            },
        },
        "paths": paths,
    })
}
