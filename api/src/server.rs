//! `Server`: the database, the projections and the HTTP listener of one `tenancy serve`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use domain::TenantId;
use eventstore::{Database, DatabaseOptions, StoreError, StoreOptions, Vault};
use projections::read_models;
use projections::{MemoryProjection, Projections, RuntimeOptions};
use tokio::net::TcpListener;

use crate::app::{AppState, MemoryModels, app};
use crate::bootstrap::{Report, bootstrap};
use crate::config::{ServeConfig, Urls};
use crate::secrets::KeyError;

/// How long a start waits for the tenant directory to know every tenant, and for the read
/// models to show the bootstrap (so the printed credentials work as soon as the server
/// listens). Generous: both are in-memory or tiny catch-ups.
const BOOTSTRAP_CATCH_UP: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot open the database: {0}")]
    Database(#[from] StoreError),
    #[error(transparent)]
    MasterKey(#[from] KeyError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("bootstrap failed: {0}")]
    Bootstrap(#[from] crate::bootstrap::BootstrapError),
    #[error("the read models did not catch up after bootstrap: {0}")]
    Projections(#[from] projections::WaitError),
    #[error("the control plane's signing key cannot be made ready: {0}")]
    SigningKeys(#[from] crate::auth::keys::KeyRingError),
}

#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    state: AppState,
    /// What bootstrap did on this start, if it did anything.
    pub bootstrap: Option<Report>,
}

impl Server {
    /// Opens (and migrates) the database, starts the projections, binds the listener and
    /// bootstraps an empty database.
    pub async fn build(config: ServeConfig) -> Result<Self, StartupError> {
        let master_key = config.instance.master_key()?;
        let options = DatabaseOptions {
            store: StoreOptions { poll_interval: config.poll_interval(), ..StoreOptions::default() },
            max_connections: config.database().max_connections,
            migrate: true,
        };
        let db = Database::connect(&config.database().database_url, options).await?;
        let memory = MemoryModels::new(config.instance.sync.options());
        let vault = Arc::new(Vault::new(db.pool.clone(), master_key.clone()));
        let read_models = read_models::all(vault.clone(), config.instance.sync.options());
        let projections =
            Projections::start_with_memory(&db, read_models, memory.projections(), RuntimeOptions::default());
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartupError::Bind { addr: config.listen, source })?;
        let address = listener.local_addr().unwrap_or(config.listen);
        let urls = Urls::new(config.instance.public_url.as_deref(), address, config.instance.base_domain.clone());
        let start = db.store.head().await?;
        let directory = memory.directory.clone();
        let state = AppState::new(db, (projections, memory), (master_key, vault), urls, config);
        // Requests are routed by the directory: it must know every tenant before the first one.
        state.projections.wait_for_projection(directory.name(), start, BOOTSTRAP_CATCH_UP).await?;
        let report =
            bootstrap(&state.commands, &state.master_key, &state.vault, &state.urls, &state.config.instance.bootstrap)
                .await?;
        // The control plane signs from the first request on: its first key (and the key's event)
        // exists before the server answers, not in the middle of the first token request.
        state.keys.for_tenant(&TenantId::control_plane()).await?;
        state.projections.wait_for(state.db.store.head().await?, BOOTSTRAP_CATCH_UP).await?;
        Ok(Self { listener, state, bootstrap: report.created.then_some(report) })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.state.config.listen)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        // With the peer address: the token endpoint throttles and records logins by it.
        let app = app(self.state).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
