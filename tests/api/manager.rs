//! `/manager/*`, `/cluster/*`, `/metrics` and `/`.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Harness, Payload};

#[tokio::test]
async fn the_manager_describes_itself_under_wazuhs_names() {
    let h = Harness::new().await;
    let root = h.call(Method::GET, "/", None, Payload::None).await.expect(StatusCode::OK).json();
    assert_eq!(root["data"]["title"], "Wazuh API REST");
    assert_eq!(root["data"]["api_version"], "4.14.7");
    let status = h.get("/manager/status").await.expect(StatusCode::OK).items();
    assert_eq!(status[0]["wazuh-apid"], "running");
    assert_eq!(status[0]["wazuh-analysisd"], "stopped", "no engine in this harness");
    assert_eq!(status[0]["wazuh-clusterd"], "stopped");
    let info = h.get("/manager/info").await.items();
    assert_eq!(info[0]["version"], "v4.14.7");
    assert_eq!(info[0]["type"], "server");
    let config =
        h.get("/manager/configuration?section=global&field=jsonout_output").await.expect(StatusCode::OK).items();
    assert_eq!(config[0], json!({"global": {"jsonout_output": true}}));
    h.get("/manager/configuration?section=nope").await.expect(StatusCode::BAD_REQUEST);
    let raw = h.get("/manager/configuration?raw=true").await.expect(StatusCode::OK);
    assert!(raw.text.contains("<ossec_config>"));
    let valid = h.get("/manager/configuration/validation").await.items();
    assert_eq!(valid[0]["status"], "OK");
    h.get("/manager/logs").await.expect(StatusCode::BAD_REQUEST);
    let lines = "2026/11/28 08:00:46 vigil-server: INFO: Started\n2026/11/28 08:00:47 vigil-api: ERROR: bad thing\nnot a log line\n";
    std::fs::write(h.home.join("logs/ossec.log"), lines).expect("test value");
    let logs = h.get("/manager/logs?limit=5").await.expect(StatusCode::OK).items();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0]["level"], "error", "newest first");
    let errors = h.get("/manager/logs?level=error").await.json();
    assert_eq!(errors["data"]["total_affected_items"], 1);
    let summary = h.get("/manager/logs/summary").await.items();
    assert!(
        summary.contains(
            &json!({"vigil-api": {"all": 1, "info": 0, "error": 1, "critical": 0, "warning": 0, "debug": 0}})
        ),
        "{summary:?}"
    );
    h.get("/manager/logs?limit=501").await.expect(StatusCode::BAD_REQUEST);
    h.get("/manager/stats?date=2026-01-02").await.expect(StatusCode::BAD_REQUEST);
    let totals = h.home.join("stats/totals/2026/Jan");
    std::fs::create_dir_all(&totals).expect("totals dir");
    std::fs::write(totals.join("ossec-totals-02.log"), "7-5710-5-3\n7--3--40--0--0\n\n").expect("totals file");
    let hours = h.get("/manager/stats?date=2026-01-02").await.expect(StatusCode::OK).items();
    assert_eq!(hours[0]["hour"], 7);
    assert_eq!(hours[0]["totalAlerts"], 3);
    assert_eq!(hours[0]["alerts"][0], json!({"sigid": 5710, "level": 5, "times": 3}));
    h.get("/manager/stats?date=yesterday").await.expect(StatusCode::BAD_REQUEST);
    let daemons = h.get("/manager/daemons/stats?daemons_list=wazuh-analysisd").await.items();
    assert_eq!(daemons[0]["name"], "wazuh-analysisd");
}

#[tokio::test]
async fn the_configuration_is_checked_before_it_is_written() {
    let h = Harness::new().await;
    let path = h.home.join("etc/ossec.conf");
    let before = std::fs::read_to_string(&path).expect("test value");
    let broken = "<ossec_config><global><logall>maybe</logall></global></ossec_config>";
    let refused =
        h.admin(Method::PUT, "/manager/configuration", Payload::Raw("application/octet-stream", broken.into())).await;
    assert_eq!(refused.expect(StatusCode::BAD_REQUEST).json()["error"], 1125);
    assert_eq!(std::fs::read_to_string(&path).expect("test value"), before);
    let good = before.replace("<logall>no</logall>", "<logall>yes</logall>");
    h.admin(Method::PUT, "/manager/configuration", Payload::Raw("application/octet-stream", good.clone().into()))
        .await
        .expect(StatusCode::OK);
    assert_eq!(std::fs::read_to_string(&path).expect("test value"), good);
}

#[tokio::test]
async fn a_single_node_is_its_own_cluster() {
    let h = Harness::new().await;
    let status = h.get("/cluster/status").await.expect(StatusCode::OK).json();
    assert_eq!(status["data"]["running"], "no");
    let nodes = h.get("/cluster/nodes").await.items();
    assert_eq!(nodes[0]["type"], "master");
    assert_eq!(nodes[0]["name"], h.api.config.cluster.node_name);
    let health = h.get("/cluster/healthcheck").await.items();
    assert_eq!(health[0]["info"]["n_active_agents"], 1);
    let info = h.get("/cluster/local/info").await.items();
    assert_eq!(info[0]["cluster"], h.api.config.cluster.name);
    let missing = h.get("/cluster/nodes?nodes_list=other").await.json();
    assert_eq!(missing["data"]["failed_items"][0]["error"]["code"], 1730);
}

#[tokio::test]
async fn metrics_are_prometheus_text_behind_authentication() {
    let h = Harness::new().await;
    h.agents(&[("m1", &[])]);
    let page = h.get("/metrics").await.expect(StatusCode::OK);
    assert!(page.content_type.starts_with("text/plain; version=0.0.4"));
    assert!(page.text.contains("vigil_agents{status=\"never_connected\"} 1"), "{}", page.text);
    assert!(page.text.contains("# TYPE vigil_agents gauge"));
    h.call(Method::GET, "/metrics", None, Payload::None).await.expect(StatusCode::UNAUTHORIZED);
}
