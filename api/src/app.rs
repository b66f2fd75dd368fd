//! `AppState` and `app(state)`: the whole HTTP surface as one `Router`, without a socket, so
//! tests can drive it with `oneshot` and the server can bind it.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use commands::Commands;
use eventstore::{Database, Vault};
use projections::read_models::applications::Applications;
use projections::read_models::claims::Claims;
use projections::read_models::fanout::SyncOptions;
use projections::read_models::key_events::KeyEvents;
use projections::read_models::role_permissions::RolePermissions;
use projections::read_models::tenant_directory::TenantDirectory;
use projections::{MemoryProjection, Projections};
use tower_http::trace::TraceLayer;

use crate::auth::throttle::LoginThrottle;
use crate::auth::{AccessClaims, Caller, KeyRing, VerifiedTokens};
use crate::config::{ServeConfig, Urls};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::routes;
use crate::secrets::MasterKey;

/// What every handler may reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The log and its pool. Read models are read through [`AppState::read_models`], never
    /// through this pool directly: that is where reads wait for this process's commands.
    pub db: Database,
    pub commands: Commands,
    pub projections: Arc<Projections>,
    /// The highest position a command of this process has answered with: what every read of a
    /// SQL read model waits for (see `consistency.rs`).
    pub answered: Arc<AtomicU64>,
    pub keys: Arc<KeyRing>,
    /// The in-memory model behind `GET /roles/{id}/permissions`, run by `projections`.
    pub role_permissions: Arc<RolePermissions>,
    /// The live tenants and their custom domains, in memory: what routes requests by host.
    pub directory: Arc<TenantDirectory>,
    /// Users' roles and permissions, in memory: what tokens, introspection and claims say.
    pub claims: Arc<Claims>,
    /// Clients and their grants, in memory: what the OAuth endpoints authenticate with.
    pub applications: Arc<Applications>,
    /// Signing-key events applied: what tells the caches below, and the key ring's, that the
    /// keys changed (in this process or another).
    pub key_events: Arc<KeyEvents>,
    /// Management API tokens already verified, as the caller they stand for.
    pub verified: Arc<VerifiedTokens<Caller>>,
    /// Tokens introspection already verified, as their claims (checked against the live
    /// claims model on every request all the same).
    pub introspected: Arc<VerifiedTokens<AccessClaims>>,
    /// Failed password logins per user and per address.
    pub throttle: Arc<LoginThrottle>,
    pub master_key: MasterKey,
    /// Seals and opens personal data with each person's data key.
    pub vault: Arc<Vault>,
    pub urls: Arc<Urls>,
    pub metrics: Arc<Metrics>,
    pub config: Arc<ServeConfig>,
}

/// The read models held in memory, which `projections` runs.
#[derive(Debug, Clone)]
pub struct MemoryModels {
    pub role_permissions: Arc<RolePermissions>,
    pub directory: Arc<TenantDirectory>,
    pub claims: Arc<Claims>,
    pub applications: Arc<Applications>,
    pub key_events: Arc<KeyEvents>,
}

impl MemoryModels {
    pub fn new(sync: SyncOptions) -> Self {
        Self {
            role_permissions: Arc::new(RolePermissions::new(sync)),
            directory: Arc::new(TenantDirectory::default()),
            claims: Arc::new(Claims::new()),
            applications: Arc::new(Applications::new()),
            key_events: Arc::new(KeyEvents::new()),
        }
    }

    /// For [`Projections::start_with_memory`].
    pub fn projections(&self) -> Vec<Arc<dyn MemoryProjection>> {
        vec![
            self.role_permissions.clone(),
            self.directory.clone(),
            self.claims.clone(),
            self.applications.clone(),
            self.key_events.clone(),
        ]
    }
}

impl AppState {
    pub fn new(
        db: Database,
        (projections, memory): (Projections, MemoryModels),
        (master_key, vault): (MasterKey, Arc<Vault>),
        urls: Urls,
        config: ServeConfig,
    ) -> Self {
        let projections = Arc::new(projections);
        let metrics = Arc::new(Metrics::new(db.store.clone(), projections.clone()));
        let commands = Commands::new(db.store.clone(), vault.clone())
            .with_sync(config.instance.sync.options())
            .with_base_domain(urls.base_domain.clone());
        let keys =
            Arc::new(KeyRing::new(db.pool.clone(), master_key.clone(), (commands.clone(), memory.key_events.clone())));
        Self {
            key_events: memory.key_events.clone(),
            commands,
            keys,
            verified: Arc::default(),
            introspected: Arc::default(),
            throttle: Arc::new(LoginThrottle::default()),
            role_permissions: memory.role_permissions,
            directory: memory.directory,
            claims: memory.claims,
            applications: memory.applications,
            vault,
            master_key,
            urls: Arc::new(urls),
            db,
            projections,
            answered: Arc::default(),
            metrics,
            config: Arc::new(config),
        }
    }
}

pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(routes::health::router())
        .merge(routes::well_known::router())
        .merge(routes::oauth::router())
        .nest("/api/v2", routes::management::router())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), record_metrics))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("Not Found")
}

/// Counts requests and their latency by route template (never by raw path: ids would explode
/// the label space).
async fn record_metrics(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe_request(&method, &route, response.status().as_u16(), started.elapsed());
    response
}
