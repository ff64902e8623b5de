//! An API over a scratch home, called in-process through its router (no sockets), with the
//! admin's token at hand.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt as _;
use vigil::api::{Api, Services};
use vigil::config::Config;
use vigil::home::Home;

/// A running API.
pub struct Harness {
    /// Keeps the scratch directory alive.
    pub _dir: tempfile::TempDir,
    pub home: PathBuf,
    pub api: Arc<Api>,
    pub router: Router,
    pub admin: String,
}

/// An answer.
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// `data.affected_items`.
    pub fn items(&self) -> Vec<Value> {
        self.json()["data"]["affected_items"].as_array().cloned().unwrap_or_default()
    }

    /// Asserts the status, showing the body when it differs.
    pub fn expect(self, status: StatusCode) -> Self {
        assert_eq!(self.status, status, "body: {}", self.text);
        self
    }
}

/// What a request carries.
pub enum Payload<'a> {
    None,
    Json(Value),
    Raw(&'a str, Vec<u8>),
}

/// The default user's password from the first-start file.
pub fn default_password(home: &std::path::Path, user: &str) -> String {
    let text = std::fs::read_to_string(home.join(vigil::api::PASSWORDS_FILE)).expect("passwords file");
    text.lines().find_map(|l| l.strip_prefix(&format!("{user}:"))).expect("user in passwords file").to_owned()
}

impl Harness {
    /// An API without the engine.
    pub async fn new() -> Self {
        Self::with(false, |_| {}).await
    }

    /// An API on a config `tweak` changes; with `engine`, over Wazuh's stock ruleset and server
    /// config (linked from `../shared`), with the engine, logtest and the event sink.
    pub async fn with(engine: bool, tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        if engine {
            crate::common::ruleset_home::lay_out(&home, false);
            // etc/lists is written through the API: a directory of its own, entries linked, so
            // nothing is ever written into ../shared.
            let lists = home.join("etc/lists");
            let target = std::fs::read_link(&lists).expect("etc/lists is a link");
            std::fs::remove_file(&lists).expect("unlink etc/lists");
            std::fs::create_dir(&lists).expect("etc/lists");
            for entry in std::fs::read_dir(&target).expect("lists").flatten() {
                std::os::unix::fs::symlink(entry.path(), lists.join(entry.file_name())).expect("link list");
            }
        }
        let h = Home::new(&home);
        h.prepare(vigil::server::now()).expect("prepare home");
        let mut config = vigil::config::load(&h.config_file()).config;
        tweak(&mut config);
        let mut services = Services::default();
        let store = h.store().expect("store");
        if engine {
            let (compiled, problems) = vigil::engine::live::compile(&home, &config).expect("engine");
            let live = Arc::new(vigil::engine::live::Live::new(compiled, vigil::engine::live::messages(&problems)));
            let settings = vigil::logtest::Settings::from_config(&config, "test-manager");
            services.logtest = Some(Arc::new(vigil::logtest::Logtest::new(Arc::clone(&live), settings)));
            services.sink = Some(Arc::new(
                vigil::server::queue::Sink::open(&h, &config, Arc::clone(&live), Some(store.clone())).expect("sink"),
            ));
            services.engine = Some(live);
        }
        let api = Arc::new(Api::open(&home, Arc::new(config), store, services).expect("api"));
        let (router, _) = vigil::api::routes::router(Arc::clone(&api));
        let mut harness = Self { _dir: dir, home, api, router, admin: String::new() };
        let password = default_password(&harness.home, "wazuh");
        harness.admin = harness.login("wazuh", &password).await;
        harness
    }

    /// Sends one request.
    pub async fn call(&self, method: Method, uri: &str, token: Option<&str>, payload: Payload<'_>) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = match payload {
            Payload::None => Body::empty(),
            Payload::Json(v) => {
                request = request.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            Payload::Raw(content_type, bytes) => {
                request = request.header("content-type", content_type);
                Body::from(bytes)
            }
        };
        let response = self.router.clone().oneshot(request.body(body).expect("request")).await.expect("infallible");
        let status = response.status();
        let content_type =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        Reply { status, content_type, text: String::from_utf8_lossy(&bytes).into_owned() }
    }

    /// `GET` as the admin.
    pub async fn get(&self, uri: &str) -> Reply {
        self.call(Method::GET, uri, Some(&self.admin), Payload::None).await
    }

    /// A request as the admin.
    pub async fn admin(&self, method: Method, uri: &str, payload: Payload<'_>) -> Reply {
        self.call(method, uri, Some(&self.admin), payload).await
    }

    /// Logs in with Basic credentials; the raw token.
    pub async fn login(&self, user: &str, password: &str) -> String {
        let reply = self.basic(Method::POST, "/security/user/authenticate?raw=true", user, password, None).await;
        assert_eq!(reply.status, StatusCode::OK, "login {user}: {}", reply.text);
        reply.text
    }

    /// A request with Basic credentials.
    pub async fn basic(&self, method: Method, uri: &str, user: &str, password: &str, body: Option<Value>) -> Reply {
        use base64::Engine as _;
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let mut request =
            Request::builder().method(method).uri(uri).header("authorization", format!("Basic {credentials}"));
        let body = match body {
            Some(v) => {
                request = request.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let response = self.router.clone().oneshot(request.body(body).expect("request")).await.expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        Reply { status, content_type: String::new(), text: String::from_utf8_lossy(&bytes).into_owned() }
    }

    /// Creates a user with `roles` and returns its token.
    pub async fn user_with_roles(&self, name: &str, roles: &[u32]) -> String {
        let password = "Vigil-Test-1234!";
        let created = self
            .admin(
                Method::POST,
                "/security/users",
                Payload::Json(serde_json::json!({"username": name, "password": password})),
            )
            .await
            .expect(StatusCode::OK);
        let id = created.items()[0]["id"].as_u64().expect("user id");
        if !roles.is_empty() {
            let ids: Vec<String> = roles.iter().map(u32::to_string).collect();
            self.admin(Method::POST, &format!("/security/users/{id}/roles?role_ids={}", ids.join(",")), Payload::None)
                .await
                .expect(StatusCode::OK);
        }
        self.login(name, password).await
    }

    /// Registers agents straight in the store (`name`, groups).
    pub fn agents(&self, agents: &[(&str, &[&str])]) {
        let store = &self.api.store;
        for (name, groups) in agents {
            let groups: Vec<vigil::store::GroupName> = groups.iter().map(|g| g.parse().expect("group")).collect();
            for g in &groups {
                store.add_group(g, 0).expect("group");
            }
            store
                .add_agent(vigil::store::NewAgent {
                    name: name.parse().expect("name"),
                    ip: vigil::store::AgentIp::any(),
                    groups,
                    registered_at: 1_700_000_000,
                })
                .expect("agent");
        }
    }
}
