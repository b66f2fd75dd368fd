//! The black-box test harness: start the real server on a random port over a fresh database
//! (SQLite, or PostgreSQL when configured) and talk to it over HTTP, as a client would.

use std::net::SocketAddr;

use api::{ServeConfig, Server};
use eventstore::testing::TestDatabase;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[derive(Debug)]
pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    /// Dropped last: the database outlives the server that uses it.
    _db: TestDatabase,
}

impl TestApp {
    pub async fn start(db: TestDatabase) -> Self {
        Self::start_with(db, |_| {}).await
    }

    /// Starts the server with the test defaults, adjusted by `configure`.
    pub async fn start_with(db: TestDatabase, configure: impl FnOnce(&mut ServeConfig)) -> Self {
        let mut config = ServeConfig::for_tests(db.url.clone());
        configure(&mut config);
        let server = Server::build(config).await.expect("the server starts");
        let address = server.local_addr();
        let (shutdown, stop) = oneshot::channel::<()>();
        let server = tokio::spawn(server.run(async move {
            let _ = stop.await;
        }));
        Self { address, client: reqwest::Client::new(), shutdown: Some(shutdown), server: Some(server), _db: db }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("the server answers")
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
