//! The black-box test harness: start the real server on a random port over a fresh database
//! (SQLite, or PostgreSQL when configured) and talk to it over HTTP, as a client would.

#![allow(clippy::unwrap_used)] // test support: a failure should fail the test loudly

use std::net::SocketAddr;

use api::{AppState, ServeConfig, Server};
use eventstore::testing::TestDatabase;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use tokio::sync::{OnceCell, oneshot};
use tokio::task::JoinHandle;

/// The management client every test server is bootstrapped with.
pub const CLIENT_ID: &str = "tenancy-tests-client";
pub const CLIENT_SECRET: &str = "tenancy-tests-secret-0123456789abcdefghijklmnopqrstuvwxyz";

#[derive(Debug)]
pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    /// The server's state, for the few tests that must reach behind the API (forging tokens).
    pub state: AppState,
    token: OnceCell<String>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    /// Dropped last: the database outlives the server that uses it. A second process
    /// ([`TestApp::beside`]) borrows its first's.
    _db: Option<TestDatabase>,
}

impl TestApp {
    pub async fn start(db: TestDatabase) -> Self {
        Self::start_with(db, |_| {}).await
    }

    /// Starts the server with the test defaults, adjusted by `configure`.
    pub async fn start_with(db: TestDatabase, configure: impl FnOnce(&mut ServeConfig)) -> Self {
        let mut config = ServeConfig::for_tests(db.url.clone());
        config.instance.bootstrap.client_id = Some(CLIENT_ID.into());
        config.instance.bootstrap.client_secret = Some(api::secrets::Secret::new(CLIENT_SECRET));
        configure(&mut config);
        Self::launch(config, Some(db)).await
    }

    /// A second server process on the same database (same master key, same public URL, so the
    /// same issuer), as a deployment of several processes runs them. It must not outlive `self`.
    pub async fn beside(&self) -> Self {
        let mut config = (*self.state.config).clone();
        config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        config.instance.public_url = Some(format!("http://{}", self.address));
        Self::launch(config, None).await
    }

    async fn launch(config: ServeConfig, db: Option<TestDatabase>) -> Self {
        let server = Server::build(config).await.expect("the server starts");
        let address = server.local_addr();
        let state = server.state().clone();
        let (shutdown, stop) = oneshot::channel::<()>();
        let server = tokio::spawn(server.run(async move {
            let _ = stop.await;
        }));
        Self {
            address,
            client: reqwest::Client::new(),
            state,
            token: OnceCell::new(),
            shutdown: Some(shutdown),
            server: Some(server),
            _db: db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// The Management API's audience on this server.
    pub fn audience(&self) -> String {
        self.url("/api/v2/")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("the server answers")
    }

    /// A management token of the bootstrap client, with every Management API permission.
    pub async fn token(&self) -> String {
        self.token
            .get_or_init(|| async {
                let body = json!({
                    "grant_type": "client_credentials",
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "audience": self.audience(),
                });
                let response = self.client.post(self.url("/oauth/token")).json(&body).send().await.unwrap();
                assert_eq!(response.status(), 200, "the bootstrap client gets a token");
                response.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
            })
            .await
            .clone()
    }

    /// A Management API request with the bootstrap client's token.
    pub async fn api(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let token = self.token().await;
        self.api_with(method, path, body, &token).await
    }

    pub async fn api_with(&self, method: Method, path: &str, body: Option<Value>, token: &str) -> Response {
        let mut request = self.client.request(method, self.url(&format!("/api/v2{path}"))).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("the server answers")
    }

    /// A Management API request of the bootstrap client acting in `tenant` through the
    /// `tenant-id` header (it holds `admin:tenants`).
    pub async fn api_in(&self, tenant: &str, method: Method, path: &str, body: Option<Value>) -> Response {
        let token = self.token().await;
        let mut request = self
            .client
            .request(method, self.url(&format!("/api/v2{path}")))
            .bearer_auth(token)
            .header("tenant-id", tenant);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("the server answers")
    }

    /// A request to `path` on this server addressed to `host` (its `Host` header, with the
    /// server's port), as a client that resolved that name to this server would send it.
    pub fn request_at(&self, host: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header(reqwest::header::HOST, format!("{host}:{}", self.address.port()))
    }

    /// The origin of `host` on this server, with a trailing slash: a tenant's issuer there.
    pub fn origin_of(&self, host: &str) -> String {
        format!("http://{host}:{}/", self.address.port())
    }

    /// The log's head position, straight from the store.
    pub async fn head(&self) -> u64 {
        self.state.db.store.head().await.unwrap()
    }

    /// Stops the server and waits until it has finished its requests.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// The body of a response as JSON, asserting its status first.
pub async fn json_of(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "unexpected status; body: {text}");
    if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() }
}

/// Asserts an error response in the API's shape, and returns its message.
pub async fn error_of(response: Response, status: u16) -> String {
    let body = json_of(response, status).await;
    assert_eq!(body["statusCode"], status, "{body}");
    assert!(body["error"].is_string() && body["errorCode"].is_string(), "{body}");
    body["message"].as_str().unwrap().to_owned()
}
