//! Every route declares what it needs: without a token only the public and login routes answer,
//! and each declared action set is the one Wazuh's spec gives the operation.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use vigil::api::access::Access;

use crate::harness::{Harness, Payload};

/// The spec's operations: (METHOD, path) → x-rbac-actions.
fn spec_actions() -> std::collections::HashMap<(String, String), BTreeSet<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/wazuh/api/spec.yaml");
    let text = std::fs::read_to_string(path).expect("../shared/wazuh/api/spec.yaml");
    let spec: serde_yaml::Value = serde_yaml::from_str(&text).expect("spec parses");
    let mut out = std::collections::HashMap::new();
    for (p, ops) in spec["paths"].as_mapping().expect("paths") {
        for (method, op) in ops.as_mapping().into_iter().flatten() {
            let (Some(p), Some(method)) = (p.as_str(), method.as_str()) else { continue };
            let actions: BTreeSet<String> = op["x-rbac-actions"]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(|a| {
                    a.as_str()
                        .map(str::to_owned)
                        .or_else(|| a["$ref"].as_str().and_then(|r| r.rsplit('/').next()).map(str::to_owned))
                })
                .collect();
            out.insert((method.to_uppercase(), p.to_owned()), actions);
        }
    }
    out
}

#[tokio::test]
async fn no_route_answers_without_its_declared_access() {
    let h = Harness::new().await;
    let (_, declared) = vigil::api::routes::router(std::sync::Arc::clone(&h.api));
    assert!(declared.len() > 100, "{} routes", declared.len());
    for route in &declared {
        let uri = route.path.replace(['{', '}'], "");
        let reply = h.call(route.method.clone(), &uri, None, Payload::None).await;
        match route.access {
            Access::Public => assert_ne!(reply.status, StatusCode::UNAUTHORIZED, "{} {}", route.method, route.path),
            _ => assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{} {} answers without a token",
                route.method,
                route.path
            ),
        }
    }
}

#[tokio::test]
async fn every_operation_is_wazuhs_with_wazuhs_actions() {
    let h = Harness::new().await;
    let (_, declared) = vigil::api::routes::router(std::sync::Arc::clone(&h.api));
    let spec = spec_actions();
    // vigil's own additions, outside Wazuh's spec.
    let ours =
        ["/metrics", "/api/spec.yaml", "/api/spec.json", "/manager/stats/indexer", "/manager/stats/integrations"];
    for route in declared.iter().filter(|r| !ours.contains(&r.path)) {
        let key = (route.method.to_string(), route.path.to_owned());
        let wanted = spec.get(&key).unwrap_or_else(|| panic!("{} {} is not in Wazuh's spec", route.method, route.path));
        let declared: BTreeSet<String> = match route.access {
            Access::Actions(actions) => actions.iter().map(|a| a.as_str().to_owned()).collect(),
            _ => BTreeSet::new(),
        };
        assert_eq!(&declared, wanted, "{} {}", route.method, route.path);
    }
}

#[tokio::test]
async fn the_served_spec_lists_every_route() {
    let h = Harness::new().await;
    let spec = h.get("/api/spec.yaml").await.expect(StatusCode::OK).json();
    assert_eq!(spec["openapi"], "3.0.0");
    assert_eq!(spec["paths"]["/agents"]["get"]["x-rbac-actions"][0], "agent:read");
    assert_eq!(spec["paths"]["/"]["get"]["security"], serde_json::json!([]));
    assert!(spec["paths"]["/agents/{agent_id}/group/{group_id}"]["put"]["parameters"][0]["name"] == "agent_id");
}
