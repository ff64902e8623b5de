//! Several `vigil serve` nodes sharing one agent registry through a real NATS JetStream server:
//! an agent enrolled on one node is served by another at once, names stay unique across nodes,
//! membership shows in `/cluster/nodes` and `vigil cluster status`, NATS's disk holds no agent
//! key in clear, with NATS down (or a node cut off from it in a network namespace) enrollments
//! are refused clearly while connected agents keep flowing, and everything catches up after.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::agent::{Agent, Connection, KEEPALIVE};
use common::certs;
use common::nats::Nats;
use common::server::{Running, free_port, log, replace_block, serve_prepared, wait_for};
use vigil::secmsg::{AgentKeys, Cipher};

const CLUSTER_KEY: &str = "c0ffee00c0ffee00c0ffee00c0ffee00";

/// A node of cluster `vigil` named `name`, reaching NATS at `url` (trusting `ca` when given).
struct Node {
    server: Running,
    /// Where the test reaches it.
    host: String,
    auth_port: u16,
    api_port: u16,
    token: std::cell::OnceCell<String>,
}

fn node(name: &str, url: &str, ca: Option<&Path>) -> Node {
    node_ready(name, url, ca, "Cluster buckets ready")
}

/// [`node`], started once `ready` is in its log.
fn node_ready(name: &str, url: &str, ca: Option<&Path>, ready: &str) -> Node {
    let ca = ca.map(|p| format!("<ca>{}</ca>", p.display())).unwrap_or_default();
    node_with(name, &format!("<url>{url}</url>{ca}"), ready, |_| {})
}

/// A node whose `<nats>` block holds `nats`, started once `ready` is in its log; `before` works
/// on its home first.
fn node_with(name: &str, nats: &str, ready: &str, before: impl FnOnce(&Path)) -> Node {
    let auth_port = free_port();
    let mut api_port = 0;
    let server = serve_prepared(ready, |home, port, config| {
        before(home);
        let api = config.split("<api>").nth(1).and_then(|a| a.split("<port>").nth(1)).and_then(|p| p.split('<').next());
        api_port = api.and_then(|p| p.parse().ok()).expect("API port");
        let remote =
            format!("<remote><connection>secure</connection><port>{port}</port><protocol>tcp</protocol></remote>");
        let cluster = format!(
            "<cluster><name>vigil</name><node_name>{name}</node_name><key>{CLUSTER_KEY}</key>\
             <nats>{nats}</nats><disabled>no</disabled></cluster>"
        );
        let config = replace_block(&config, "remote", &remote);
        // The last <cluster>: the header comment names the element too.
        let start = config.rfind("<cluster>").expect("a cluster block");
        let config = format!("{}{}", &config[..start], replace_block(&config[start..], "cluster", &cluster));
        // Tests poll the API: no rate limit in the way.
        config.replace("<port>1515</port>", &format!("<port>{auth_port}</port>")).replace(
            "<max_request_per_minute>300</max_request_per_minute>",
            "<max_request_per_minute>0</max_request_per_minute>",
        )
    });
    wait_for("the API", Duration::from_secs(10), || log(server.home()).contains("API listening"));
    Node { server, host: "127.0.0.1".into(), auth_port, api_port, token: std::cell::OnceCell::new() }
}

/// A NATS server (storing in the directory that comes last) and two nodes on it.
fn two_nodes(a: &str, b: &str) -> (Node, Node, Nats, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let nats = Nats::start(dir.path(), None);
    let (a, b) = (node(a, &nats.url(), None), node(b, &nats.url(), None));
    (a, b, nats, dir)
}

/// `vigil enroll` against `node`: the client.keys line, or the error it printed.
fn enroll(node: &Node, name: &str) -> Result<Agent, String> {
    let out = common::vigil()
        .args(["enroll", "-m", &node.host, "-p", &node.auth_port.to_string(), "-A", name])
        .output()
        .expect("vigil enroll");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let line = String::from_utf8(out.stdout).expect("text");
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [id, name, _ip, key] = fields[..] else { panic!("a client.keys line: {line}") };
    Ok(Agent { id: id.to_owned(), name: name.to_owned(), keys: AgentKeys::derive(id, name, key), cipher: Cipher::Aes })
}

/// Whether `node` answers `agent`'s startup message.
fn accepted(node: &Node, agent: &Agent) -> bool {
    let mut connection = Connection::open_at(&node.host, node.server.port, agent);
    connection.send(br#"#!-agent startup {"version":"v4.14.7"}"#);
    connection.receive().as_deref() == Some(&b"#!-agent ack "[..])
}

/// `method uri` (with a JSON `body`) on `node`'s API as the default administrator.
fn api(node: &Node, method: &str, uri: &str, body: Option<&str>) -> serde_json::Value {
    let text = api_text(node, method, uri, body.map(|b| ("application/json", b)));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// [`api`] with a body of any type, the answer as text.
fn api_text(node: &Node, method: &str, uri: &str, body: Option<(&str, &str)>) -> String {
    let password = std::fs::read_to_string(node.server.home().join(vigil::api::PASSWORDS_FILE)).expect("passwords");
    let password = password.lines().find_map(|l| l.strip_prefix("wazuh:")).expect("wazuh user").to_owned();
    let base = format!("https://{}:{}", node.host, node.api_port);
    let curl = |args: &[&str]| {
        let out = Command::new("curl").args(["-sk", "--max-time", "10"]).args(args).output().expect("curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let token = node.token.get_or_init(|| {
        let auth =
            curl(&["-u", &format!("wazuh:{password}"), "-X", "POST", &format!("{base}/security/user/authenticate")]);
        let auth: serde_json::Value = serde_json::from_str(&auth).expect("JSON answer");
        auth["data"]["token"].as_str().expect("token").to_owned()
    });
    let mut args = vec!["-X", method];
    let content_type;
    if let Some((kind, body)) = body {
        content_type = format!("Content-Type: {kind}");
        args.extend(["-H", &content_type, "--data-binary", body]);
    }
    let bearer = format!("Authorization: Bearer {token}");
    let url = format!("{base}{uri}");
    args.extend(["-H", &bearer, &url]);
    curl(&args)
}

fn api_get(node: &Node, uri: &str) -> serde_json::Value {
    api(node, "GET", uri, None)
}

#[test]
fn nodes_share_one_registry_over_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    certs::ca(dir.path(), "ca");
    certs::server(dir.path(), "ca", "nats");
    let nats = Nats::start(dir.path(), Some((&dir.path().join("nats.pem"), &dir.path().join("nats.key"))));
    let url = format!("tls://127.0.0.1:{}", nats.port);
    let ca = dir.path().join("ca.pem");
    let a = node("node-a", &url, Some(&ca));
    let b = node("node-b", &url, Some(&ca));

    // Enrolled on A, served by B within a second.
    let agent = enroll(&a, "web01").expect("enrolled on A");
    let start = Instant::now();
    while !accepted(&b, &agent) {
        assert!(start.elapsed() < Duration::from_secs(1), "B did not accept A's agent within 1 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The name is taken cluster-wide; ids never repeat.
    let Err(refused) = enroll(&b, "web01") else { panic!("a duplicate name was enrolled") };
    assert!(refused.contains("Duplicate agent name"), "{refused}");
    let second = enroll(&b, "db01").expect("enrolled on B");
    assert_ne!(second.id, agent.id);
    wait_for("A to learn B's agent", Duration::from_secs(2), || {
        a.server.home().join("etc/client.keys").exists()
            && std::fs::read_to_string(a.server.home().join("etc/client.keys")).is_ok_and(|k| k.contains(" db01 "))
    });

    // Both nodes alive, one of them the master.
    wait_for("both heartbeats", Duration::from_secs(10), || {
        api_get(&a, "/cluster/nodes")["data"]["total_affected_items"] == 2
    });
    let nodes = api_get(&b, "/cluster/nodes");
    let items = nodes["data"]["affected_items"].as_array().expect("items").clone();
    let masters = items.iter().filter(|n| n["type"] == "master").count();
    assert_eq!(masters, 1, "{nodes}");
    assert_eq!(api_get(&a, "/cluster/status")["data"]["running"], "yes");
    let status = common::ok(a.server.home(), &["cluster", "status"]);
    assert!(status.contains("2 node(s) alive, 2 agent(s) registered"), "{status}");
    assert!(status.contains("node-a") && status.contains("node-b"), "{status}");

    // NATS's files never hold an agent key in clear.
    let key = std::fs::read_to_string(a.server.home().join("etc/client.keys")).expect("client.keys");
    let key = key.lines().next().and_then(|l| l.split(' ').nth(3)).expect("a key").to_owned();
    let mut stack = vec![nats.store.clone()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).expect("dir").map(|e| e.expect("entry").path()));
        } else {
            let bytes = std::fs::read(&path).expect("file");
            assert!(!bytes.windows(key.len()).any(|w| w == key.as_bytes()), "key in clear in {}", path.display());
        }
    }
}

#[test]
fn without_nats_enrollment_is_refused_agents_keep_flowing_and_all_catches_up() {
    let (a, b, mut nats, _dir) = two_nodes("node-a", "node-b");
    let agent = enroll(&a, "web01").expect("enrolled");
    let late = enroll(&a, "web02").expect("enrolled");
    let mut connection = connect(&a, &agent);

    nats.stop();
    wait_for("the node to notice", Duration::from_secs(10), || log(a.server.home()).contains("Disconnected from NATS"));
    let Err(refused) = enroll(&a, "db01") else { panic!("enrolled without the registry") };
    assert!(refused.contains("Cluster registry unreachable"), "{refused}");
    // Connected agents are still served, and a known agent still connects.
    keepalive(&mut connection);
    let _late_connection = connect(&a, &late);
    // .ci/heavy holds NATS down for 30 s.
    let outage: u64 = std::env::var("VIGIL_NATS_OUTAGE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let until = Instant::now() + Duration::from_secs(outage);
    while Instant::now() < until {
        keepalive(&mut connection);
        std::thread::sleep(Duration::from_secs(1));
    }

    nats.resume();
    let start = Instant::now();
    loop {
        match enroll(&a, "db01") {
            Ok(enrolled) => {
                assert!(enrolled.id != agent.id && enrolled.id != late.id);
                break;
            }
            Err(e) => assert!(start.elapsed() < Duration::from_secs(15), "still refused after NATS returned: {e}"),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // What A could not write meanwhile reaches the others.
    wait_for("B to see the agent that connected during the outage", Duration::from_secs(10), || {
        shown(&b, &late) == ("node-a".into(), "active".into())
    });
}

#[test]
fn an_active_response_reaches_an_agent_connected_to_another_node() {
    let (a, b, _nats, _dir) = two_nodes("node-a", "node-b");
    let agent = enroll(&a, "web01").expect("enrolled on A");
    wait_for("B to learn the agent", Duration::from_secs(2), || accepted(&b, &agent));
    let mut connection = connect(&b, &agent);

    // Asked on A, delivered by B (once B has published that it holds the agent).
    let uri = format!("/active-response?agents_list={}", agent.id);
    let body = r#"{"command":"!firewall-drop","arguments":["-"],"alert":{"data":{"srcip":"198.51.100.7"}}}"#;
    wait_for("A to send through B", Duration::from_secs(5), || {
        api(&a, "PUT", &uri, Some(body))["data"]["total_affected_items"] == 1
    });
    // B pushes the group's files first.
    let message = std::iter::from_fn(|| connection.receive())
        .take(50)
        .map(|m| String::from_utf8_lossy(&m).into_owned())
        .find(|m| m.starts_with("#!-execd "))
        .expect("the active response, through B");
    assert!(message.contains("198.51.100.7") && message.contains("firewall-drop"), "{message}");
    // A shows the agent as B's, active, with what it told B of itself.
    let item = || api_get(&a, &format!("/agents?agents_list={}", agent.id))["data"]["affected_items"][0].clone();
    wait_for("A to show what B knows", Duration::from_secs(5), || item()["os"]["platform"] == "debian");
    let item = item();
    assert_eq!((item["status"].as_str(), item["node_name"].as_str()), (Some("active"), Some("node-b")), "{item}");
    assert_eq!(item["version"], "Wazuh v4.14.7", "{item}");

    // An agent connected nowhere gets a clear refusal.
    let lone = enroll(&a, "db01").expect("enrolled");
    let answer = api(&a, "PUT", &format!("/active-response?agents_list={}", lone.id), Some(body));
    assert_eq!(answer["data"]["total_failed_items"], 1, "{answer}");
    let metrics = api_text(&a, "GET", "/metrics", None);
    assert!(metrics.contains("vigil_cluster_commands_relayed_total 1\n"), "{metrics}");
}

#[test]
fn a_rule_changed_through_one_node_is_in_force_on_the_others_within_seconds() {
    let (a, b, nats, _dir) = two_nodes("node-a", "node-b");
    let c = node("node-c", &nats.url(), None);
    let rules = r#"<group name="local,"><rule id="100250" level="10"><match>vigil-cluster-canary</match><description>Cluster canary</description></rule></group>"#;
    let changed = Instant::now();
    let uri = "/rules/files/local_rules.xml?overwrite=true";
    let answer = api_text(&c, "PUT", uri, Some(("application/octet-stream", rules)));
    assert!(answer.contains("\"total_affected_items\":1"), "{answer}");
    for node in [&a, &b] {
        wait_for("the others to reload", Duration::from_secs(5), || {
            log(node.server.home()).contains("Ruleset changed by another node: reloaded")
        });
    }
    let took = changed.elapsed();
    assert!(took < Duration::from_secs(2), "A and B took {took:?} to put C's rule in force");
    for node in [&a, &b] {
        let local = node.server.home().join("etc/rules/local_rules.xml");
        assert_eq!(std::fs::read_to_string(local).ok().as_deref(), Some(rules));
        let sent = api(node, "POST", "/events", Some(r#"{"events":["vigil-cluster-canary from a test"]}"#));
        assert_eq!(sent["data"]["total_affected_items"], 1, "{sent}");
        let alerts = node.server.home().join("logs/alerts/alerts.json");
        wait_for("an alert from C's rule", Duration::from_secs(5), || {
            std::fs::read_to_string(&alerts).is_ok_and(|t| t.contains(r#""id":"100250""#))
        });
    }

    // A file that does not load is refused by the node it is sent to, and goes nowhere.
    let broken = r#"<group name="local,"><rule id="100251" level="10"><if_sid>999999999</if_sid></rule></group>"#;
    let answer = api_text(&c, "PUT", uri, Some(("application/octet-stream", broken)));
    assert!(answer.contains("\"error\":1"), "{answer}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(std::fs::read_to_string(a.server.home().join("etc/rules/local_rules.xml")).ok().as_deref(), Some(rules));
}

#[test]
fn groups_and_assignments_are_the_same_on_every_node() {
    let (a, b, _nats, _dir) = two_nodes("node-a", "node-b");
    let groups = |node: &Node| -> Vec<String> {
        let listed = api_get(node, "/groups");
        let items = listed["data"]["affected_items"].as_array().cloned().unwrap_or_default();
        items.iter().filter_map(|g| g["name"].as_str().map(str::to_owned)).collect()
    };
    let created = api(&a, "POST", "/groups", Some(r#"{"group_id":"web"}"#));
    assert_eq!(created["error"], 0, "{created}");
    wait_for("B to have the group", Duration::from_secs(5), || groups(&b).contains(&"web".to_owned()));
    assert!(b.server.home().join("etc/shared/web/agent.conf").exists());

    let agent = enroll(&b, "web01").expect("enrolled on B");
    let assigned = api(&a, "PUT", &format!("/agents/{}/group/web", agent.id), None);
    assert_eq!(assigned["data"]["total_affected_items"], 1, "{assigned}");
    let agent_groups = |node: &Node| {
        api_get(node, &format!("/agents?agents_list={}", agent.id))["data"]["affected_items"][0]["group"].clone()
    };
    wait_for("B to see the assignment", Duration::from_secs(5), || {
        agent_groups(&b) == serde_json::json!(["default", "web"])
    });

    let deleted = api(&b, "DELETE", "/groups?groups_list=web", None);
    assert_eq!(deleted["data"]["total_affected_items"], 1, "{deleted}");
    wait_for("A to lose the group", Duration::from_secs(5), || !groups(&a).contains(&"web".to_owned()));
    assert!(!a.server.home().join("etc/shared/web").exists());
    assert_eq!(agent_groups(&a), serde_json::json!(["default"]));
}

#[test]
fn bad_values_in_nats_are_ignored_counted_and_harm_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let nats = Nats::start(dir.path(), None);
    let a = node("node-a", &nats.url(), None);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let client = async_nats::connect(nats.url()).await.expect("connect");
        let js = async_nats::jetstream::new(client);
        let agents = js.get_key_value("vigil_vigil_agents").await.expect("agents bucket");
        // Not sealed with the cluster key; sealed garbage; a key naming no agent.
        agents.put("agent.77", "{\"id\":\"077\"}".into()).await.expect("put");
        agents.put("agent.78", vec![1u8; 64].into()).await.expect("put");
        agents.put("agent.x", "x".into()).await.expect("put");
        // Larger than the bucket takes: NATS itself refuses it.
        assert!(agents.put("agent.79", vec![0u8; 128 * 1024].into()).await.is_err());
        // A heartbeat that is not one, and a node of another version.
        let nodes = js.get_key_value("vigil_vigil_nodes").await.expect("nodes bucket");
        nodes.put("node.00", "not json".into()).await.expect("put");
        let other =
            r#"{"name":"old-node","address":"127.0.0.9","version":"0.0.1","agents":0,"eps":0,"started":0,"seen":0}"#;
        nodes.put("node.6f6c64", other.into()).await.expect("put");
    });
    wait_for("the bad records to be seen", Duration::from_secs(5), || {
        log(a.server.home()).contains("registry record ignored")
            && log(a.server.home()).contains("another vigil version")
    });
    // Nothing of it reached the store; enrollment goes on.
    let keys = std::fs::read_to_string(a.server.home().join("etc/client.keys")).unwrap_or_default();
    assert!(!keys.contains("077"), "{keys}");
    let agent = enroll(&a, "web01").expect("enrolled");
    assert!(accepted(&a, &agent));
    let metrics = api_text(&a, "GET", "/metrics", None);
    let corrupt = metrics.lines().find_map(|l| l.strip_prefix("vigil_cluster_records_corrupt_total ")).expect("metric");
    assert!(corrupt.parse::<u64>().expect("a count") >= 3, "{metrics}");
    let nodes = api_get(&a, "/cluster/nodes");
    assert_eq!(nodes["data"]["total_affected_items"], 2, "{nodes}");
}

#[test]
fn wrong_nats_credentials_are_reported_and_nothing_is_enrolled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let nats = Nats::start_with_args(dir.path(), &["--user", "vigil", "--pass", "right-password"]);
    let url = format!("nats://vigil:wrong-password@127.0.0.1:{}", nats.port);
    let a = node_ready("node-a", &url, None, "Enrollment service listening");
    wait_for("the refusal in the log", Duration::from_secs(10), || log(a.server.home()).contains("uthorization"));
    let Err(refused) = enroll(&a, "web01") else { panic!("enrolled without the registry") };
    assert!(refused.contains("Cluster registry unreachable"), "{refused}");
    let status = common::run(a.server.home(), &["cluster", "status"]);
    assert!(!status.status.success());
    let error = String::from_utf8_lossy(&status.stderr);
    assert!(error.contains("cannot connect to NATS"), "{error}");
    assert!(!log(a.server.home()).contains("wrong-password"), "the password must not be logged");
}

/// Connects `agent` to `node` and has it announce itself: held by that node from then on.
fn connect<'a>(node: &Node, agent: &'a Agent) -> Connection<'a> {
    let mut connection = Connection::open_at(&node.host, node.server.port, agent);
    connection.send(br#"#!-agent startup {"version":"v4.14.7"}"#);
    assert_eq!(connection.receive().as_deref(), Some(&b"#!-agent ack "[..]));
    connection.send(KEEPALIVE.as_bytes());
    assert_eq!(connection.receive().as_deref(), Some(&b"#!-agent ack "[..]));
    connection
}

/// Sends a keepalive and waits for its ack (past the group files the manager pushes).
fn keepalive(connection: &mut Connection<'_>) {
    connection.send(KEEPALIVE.as_bytes());
    let acked = std::iter::from_fn(|| connection.receive()).take(50).any(|m| m == b"#!-agent ack ");
    assert!(acked, "no keepalive ack");
}

/// The node `node` says holds `agent`, and the status it shows.
fn shown(node: &Node, agent: &Agent) -> (String, String) {
    let shown = api_get(node, &format!("/agents?agents_list={}", agent.id));
    let item = &shown["data"]["affected_items"][0];
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    (text(&item["node_name"]), text(&item["status"]))
}

#[test]
fn a_killed_node_leaves_the_list_and_its_agents_are_served_by_another() {
    let (a, mut b, _nats, _dir) = two_nodes("node-a", "node-b");
    let agent = enroll(&a, "web01").expect("enrolled on A");
    wait_for("B to learn the agent", Duration::from_secs(2), || accepted(&b, &agent));
    let on_b = connect(&b, &agent);
    wait_for("A to see the agent on B", Duration::from_secs(5), || shown(&a, &agent).0 == "node-b");

    wait_for("both in the list", Duration::from_secs(5), || {
        api_get(&a, "/cluster/nodes")["data"]["total_affected_items"] == 2
    });
    // B dies without a word; the agent reconnects to A and is served at once.
    let _ = b.server.child.kill();
    let _ = b.server.child.wait();
    drop(on_b);
    let _on_a = connect(&a, &agent);
    wait_for("A to hold the agent", Duration::from_secs(5), || shown(&a, &agent) == ("node-a".into(), "active".into()));
    // B leaves the list once its heartbeat expires.
    wait_for("B to leave the list", Duration::from_secs(20), || {
        let nodes = api_get(&a, "/cluster/nodes");
        nodes["data"]["total_affected_items"] == 1 && nodes["data"]["affected_items"][0]["name"] == "node-a"
    });
}

#[test]
fn losing_one_nats_server_of_three_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut servers = Nats::cluster(dir.path(), 3);
    let urls: String = servers.iter().map(|s| format!("<url>{}</url>", s.url())).collect();
    let nats = format!("{urls}<replicas>3</replicas>");
    let a = node_with("node-a", &nats, "Cluster buckets ready", |_| {});
    let b = node_with("node-b", &nats, "Cluster buckets ready", |_| {});
    let first = enroll(&a, "web01").expect("enrolled");
    wait_for("B to learn the agent", Duration::from_secs(2), || accepted(&b, &first));

    servers[0].stop();
    // JetStream elects new leaders among the two left; enrollment resumes within seconds.
    let start = Instant::now();
    let second = loop {
        match enroll(&b, "db01") {
            Ok(agent) => break agent,
            Err(e) => assert!(start.elapsed() < Duration::from_secs(30), "still refused: {e}"),
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    // A node whose watch lived on the lost server notices through JetStream's heartbeats (up
    // to about 10 s) and watches again.
    wait_for("A to learn B's agent", Duration::from_secs(30), || accepted(&a, &second));
    assert!(accepted(&b, &first), "the first agent is still known");
}

#[test]
fn a_single_node_joining_a_cluster_brings_its_agents_and_the_registry_wins_conflicts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let nats = Nats::start(dir.path(), None);
    let b = node("node-b", &nats.url(), None);
    let taken = enroll(&b, "taken01").expect("enrolled on B");
    assert_eq!(taken.id, "001");
    let mut old = Vec::new();
    let url = format!("<url>{}</url>", nats.url());
    let a = node_with("node-a", &url, "Agent registry mirrored", |home| {
        // Registered while A served alone: 001 is B's id already, taken01 B's name.
        for name in ["old01", "old02", "taken01"] {
            old.push(common::agent::add_agent(home, name, Cipher::Aes));
        }
    });
    // old02 (002) reaches B with its key.
    wait_for("B to learn A's old02", Duration::from_secs(5), || accepted(&b, &old[1]));
    // The registry's 001 and taken01 win on A; A's old01 and taken01 must enroll again.
    wait_for("A to use the registry's key for 001", Duration::from_secs(3), || accepted(&a, &taken));
    assert!(!accepted(&a, &old[0]) && !accepted(&b, &old[0]));
    assert!(!accepted(&b, &old[2]));
    let text = log(a.server.home());
    assert!(text.contains("the registry holds another agent under its id"), "{text}");
    assert!(text.contains("the registry gives its name to another agent"), "{text}");
}

/// A network namespace joined to this one by a veth pair: `10.231.<n>.1` here, `.2` inside.
struct Netns {
    name: String,
    host_link: String,
    subnet: u16,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip");
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

impl Netns {
    fn new() -> Self {
        let id = std::process::id();
        let (name, host_link, subnet) = (format!("vigil{id}"), format!("vh{id}"), (id % 200) as u16 + 20);
        ip(&["netns", "add", &name]);
        let ns = Self { name, host_link, subnet };
        let inner = format!("vn{id}");
        ip(&["link", "add", &ns.host_link, "type", "veth", "peer", "name", &inner]);
        ip(&["link", "set", &inner, "netns", &ns.name]);
        ip(&["addr", "add", &format!("{}/24", ns.here()), "dev", &ns.host_link]);
        ip(&["link", "set", &ns.host_link, "up"]);
        ns.exec(&["ip", "addr", "add", &format!("{}/24", ns.there()), "dev", &inner]);
        ns.exec(&["ip", "link", "set", &inner, "up"]);
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    fn here(&self) -> String {
        format!("10.231.{}.1", self.subnet)
    }

    fn there(&self) -> String {
        format!("10.231.{}.2", self.subnet)
    }

    fn exec(&self, command: &[&str]) {
        ip(&[&["netns", "exec", &self.name], command].concat());
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.host_link]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

/// A node serving inside `ns`, reaching NATS at `url`.
fn node_in(ns: &Netns, name: &str, url: &str) -> Node {
    let scratch = common::scratch();
    common::ok(&scratch.home, &["agents", "list"]);
    let (port, auth_port, api_port) = (free_port(), free_port(), free_port());
    let path = scratch.home.join("etc/ossec.conf");
    let config = std::fs::read_to_string(&path).expect("ossec.conf");
    let remote = format!("<remote><connection>secure</connection><port>{port}</port><protocol>tcp</protocol></remote>");
    let config = replace_block(&config, "remote", &remote);
    let start = config.rfind("<cluster>").expect("a cluster block");
    let cluster = format!(
        "<cluster><name>vigil</name><node_name>{name}</node_name><key>{CLUSTER_KEY}</key>\
         <nats><url>{url}</url></nats><disabled>no</disabled></cluster>"
    );
    let config = format!("{}{}", &config[..start], replace_block(&config[start..], "cluster", &cluster))
        .replace("<port>1515</port>", &format!("<port>{auth_port}</port>"))
        .replace("<port>55000</port>", &format!("<port>{api_port}</port>"))
        .replace(
            "<max_request_per_minute>300</max_request_per_minute>",
            "<max_request_per_minute>0</max_request_per_minute>",
        );
    std::fs::write(&path, config).expect("write ossec.conf");
    let child = Command::new("ip")
        .args(["netns", "exec", &ns.name, env!("CARGO_BIN_EXE_vigil"), "serve", "--home"])
        .arg(&scratch.home)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("vigil serve in the namespace");
    let server = Running { child, port, scratch };
    wait_for("the node in the namespace", Duration::from_secs(30), || {
        let text = log(server.home());
        text.contains("Cluster buckets ready") && text.contains("API listening")
    });
    Node { server, host: ns.there(), auth_port, api_port, token: std::cell::OnceCell::new() }
}

/// Root, like tests/firewall_drop.rs: namespaces and nftables.
#[test]
fn a_node_cut_off_from_nats_keeps_serving_refuses_enrollment_and_rejoins() {
    let ns = Netns::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let nats = Nats::start_with_args(dir.path(), &["-a", "0.0.0.0"]);
    let a = node("node-a", &nats.url(), None);
    let c = node_in(&ns, "node-c", &format!("nats://{}:{}", ns.here(), nats.port));
    let agent = enroll(&a, "web01").expect("enrolled on A");
    wait_for("C to learn the agent", Duration::from_secs(5), || accepted(&c, &agent));
    let mut connection = connect(&c, &agent);

    // C's packets to NATS vanish (the agents still reach it).
    let rule = format!("add rule inet vigilpart out ip daddr {} tcp dport {} drop", ns.here(), nats.port);
    ns.exec(&["nft", "add table inet vigilpart"]);
    ns.exec(&["nft", "add chain inet vigilpart out { type filter hook output priority 0 ; }"]);
    ns.exec(&["nft", &rule]);
    wait_for("C to notice", Duration::from_secs(60), || log(c.server.home()).contains("Disconnected from NATS"));
    keepalive(&mut connection);
    let Err(refused) = enroll(&c, "db01") else { panic!("C enrolled while cut off") };
    assert!(refused.contains("Cluster registry unreachable"), "{refused}");
    let other = enroll(&a, "db01").expect("A still enrolls");
    wait_for("C to leave A's list", Duration::from_secs(30), || {
        api_get(&a, "/cluster/nodes")["data"]["total_affected_items"] == 1
    });

    // Healed: C catches up and is back in the list.
    ns.exec(&["nft", "delete table inet vigilpart"]);
    wait_for("C to learn A's new agent", Duration::from_secs(30), || accepted(&c, &other));
    wait_for("C back in A's list", Duration::from_secs(15), || {
        api_get(&a, "/cluster/nodes")["data"]["total_affected_items"] == 2
    });
    keepalive(&mut connection);
}
