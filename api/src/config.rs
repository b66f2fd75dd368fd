//! Typed configuration of `tenancy serve`, from flags or `TENANCY_*` environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use projections::read_models::fanout::SyncOptions;

use crate::secrets::{KeyError, MasterKey, Secret};

/// Where the database is. `sqlite://tenancy.db` (created if missing) is the embedded default.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// PostgreSQL (`postgres://user@host/db`) or SQLite (`sqlite://path.db`) URL.
    #[arg(long, env = "TENANCY_DATABASE_URL", default_value = "sqlite://tenancy.db")]
    pub database_url: String,

    /// Connections per pool.
    #[arg(long = "database-max-connections", env = "TENANCY_DATABASE_MAX_CONNECTIONS", default_value_t = 8)]
    pub max_connections: u32,
}

impl DatabaseArgs {
    /// The SQLite database's file, if the URL names one.
    fn sqlite_file(&self) -> Option<PathBuf> {
        let rest = self.database_url.strip_prefix("sqlite:")?;
        let path = rest.trim_start_matches("//").split('?').next()?;
        (!path.is_empty()).then(|| PathBuf::from(path))
    }
}

/// Where the master key comes from.
#[derive(Debug, Clone, clap::Args)]
pub struct MasterKeyArgs {
    /// 32 random bytes, base64 or hex. Seals signing keys and peppers client-secret hashes.
    #[arg(long = "master-key", env = "TENANCY_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<Secret>,

    /// A file holding the master key. Defaults, for SQLite only, to `<database file>.master.key`,
    /// generated on first start.
    #[arg(long, env = "TENANCY_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
}

/// Bootstrap credentials; generated and printed once when not set.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BootstrapArgs {
    #[arg(long = "bootstrap-client-id", env = "TENANCY_BOOTSTRAP_CLIENT_ID")]
    pub client_id: Option<String>,

    #[arg(long = "bootstrap-client-secret", env = "TENANCY_BOOTSTRAP_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<Secret>,

    #[arg(long = "bootstrap-admin-email", env = "TENANCY_BOOTSTRAP_ADMIN_EMAIL")]
    pub admin_email: Option<String>,

    #[arg(long = "bootstrap-admin-password", env = "TENANCY_BOOTSTRAP_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<Secret>,
}

/// What identifies this deployment to clients, shared by `serve` and `bootstrap`.
#[derive(Debug, Clone, clap::Args)]
pub struct InstanceArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub master_key: MasterKeyArgs,

    /// The URL clients reach this server at; the control plane's issuer is `<public_url>/` and
    /// the Management API's audience `<public_url>/api/v2/`. Defaults to `http://<listen>`.
    #[arg(long, env = "TENANCY_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// The domain whose subdomains address tenants: `acme.<base-domain>` is tenant `acme`, with
    /// its own issuer `<scheme>://acme.<base-domain>[:<port>]/` (scheme and port of the public
    /// URL). Requests to the base domain itself, or to a reserved subdomain, address the
    /// control plane. Without it, child tenants are reached by custom domain or `tenant-id`.
    #[arg(long, env = "TENANCY_BASE_DOMAIN", value_parser = parse_base_domain)]
    pub base_domain: Option<String>,

    #[command(flatten)]
    pub bootstrap: BootstrapArgs,

    #[command(flatten)]
    pub sync: SyncArgs,
}

/// What the control plane fans out into every child tenant (DESIGN.md §3). Changing a switch
/// on an existing database needs `tenancy projections rebuild fanout.v1`.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct SyncArgs {
    /// Sync the control plane's roles (with their permissions) into child tenants.
    #[arg(long = "sync-roles", env = "TENANCY_SYNC_ROLES", default_value_t = true, action = clap::ArgAction::Set)]
    pub roles: bool,
    /// Sync the control plane's resource servers into child tenants.
    #[arg(
        long = "sync-resource-servers",
        env = "TENANCY_SYNC_RESOURCE_SERVERS",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub resource_servers: bool,
}

impl Default for SyncArgs {
    fn default() -> Self {
        Self { roles: true, resource_servers: true }
    }
}

impl SyncArgs {
    pub fn options(self) -> SyncOptions {
        SyncOptions { roles: self.roles, resource_servers: self.resource_servers }
    }
}

impl MasterKeyArgs {
    /// The key from the flag, the file, or (embedded default) the file beside the SQLite database.
    pub fn resolve(&self, database: &DatabaseArgs) -> Result<MasterKey, KeyError> {
        if let Some(key) = &self.master_key {
            return MasterKey::parse(key.expose());
        }
        if let Some(path) = &self.master_key_file {
            return MasterKey::from_file(path, true);
        }
        match database.sqlite_file() {
            Some(db) => {
                let mut path = db.into_os_string();
                path.push(".master.key");
                MasterKey::from_file(&PathBuf::from(path), true)
            }
            None => Err(KeyError::Missing),
        }
    }
}

impl InstanceArgs {
    pub fn master_key(&self) -> Result<MasterKey, KeyError> {
        self.master_key.resolve(&self.database)
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "TENANCY_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub instance: InstanceArgs,

    /// `/readyz` answers 503 while a projection is more than this many events behind the log.
    #[arg(long, env = "TENANCY_READY_MAX_LAG", default_value_t = 10_000)]
    pub ready_max_lag: u64,

    /// How often to look for commits of other processes when no notification arrives.
    #[arg(long, env = "TENANCY_POLL_INTERVAL_MS", default_value_t = 1_000, value_name = "MS")]
    pub poll_interval_ms: u64,

    /// How long a command waits for the read models to show its change before answering 503.
    #[arg(long, env = "TENANCY_CONSISTENCY_TIMEOUT_MS", default_value_t = 5_000, value_name = "MS")]
    pub consistency_timeout_ms: u64,

    /// Request bodies over this many bytes are refused with 413.
    #[arg(long, env = "TENANCY_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
}

impl ServeConfig {
    /// Defaults with another database, an OS-assigned port and a fresh master key: what tests
    /// start.
    pub fn for_tests(database_url: impl Into<String>) -> Self {
        let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, rand::random::<[u8; 32]>());
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            instance: InstanceArgs {
                database: DatabaseArgs { database_url: database_url.into(), max_connections: 8 },
                master_key: MasterKeyArgs { master_key: Some(Secret::new(key)), master_key_file: None },
                public_url: None,
                base_domain: None,
                bootstrap: BootstrapArgs::default(),
                sync: SyncArgs::default(),
            },
            ready_max_lag: 10_000,
            poll_interval_ms: 100,
            consistency_timeout_ms: 5_000,
            max_body_bytes: 1024 * 1024,
        }
    }

    pub fn database(&self) -> &DatabaseArgs {
        &self.instance.database
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms.max(10))
    }

    pub fn consistency_timeout(&self) -> Duration {
        Duration::from_millis(self.consistency_timeout_ms)
    }
}

fn parse_base_domain(value: &str) -> Result<String, String> {
    domain::hostname::canonical(value)
        .ok_or_else(|| format!("{value:?} is not a host name (no scheme, no port: e.g. tenancy.example.com)"))
}

/// The URLs derived from the public URL, fixed once the listener is bound.
#[derive(Debug, Clone)]
pub struct Urls {
    /// Without a trailing slash.
    pub public: String,
    /// Canonical (lowercase, no port), when tenants are addressed by subdomain.
    pub base_domain: Option<String>,
    /// The public URL's scheme (`https`) and `:port` when it names one: every tenant's origin
    /// uses them, since they all reach the same listener through the same front.
    scheme: String,
    port: String,
}

impl Urls {
    pub fn new(public_url: Option<&str>, listen: SocketAddr, base_domain: Option<String>) -> Self {
        let public = public_url.map_or_else(|| format!("http://{listen}"), str::to_owned);
        let public = public.trim_end_matches('/').to_owned();
        let uri = public.parse::<axum::http::Uri>().ok();
        let scheme = uri.as_ref().and_then(|u| u.scheme_str()).unwrap_or("http").to_owned();
        let port = uri.as_ref().and_then(axum::http::Uri::port_u16).map(|p| format!(":{p}")).unwrap_or_default();
        Self { public, base_domain, scheme, port }
    }

    /// The control plane's token issuer.
    pub fn issuer(&self) -> String {
        format!("{}/", self.public)
    }

    /// The issuer of tokens requested at `host` (a custom domain, or a tenant's subdomain).
    pub fn issuer_at(&self, host: &str) -> String {
        format!("{}://{host}{}/", self.scheme, self.port)
    }

    /// Every issuer `tenant`'s tokens may carry: the control plane's public URL; a child's
    /// subdomain of the base domain and each of its custom domains.
    pub fn issuers_of(&self, tenant: &domain::TenantId, domains: &[String]) -> Vec<String> {
        if tenant.is_control_plane() {
            return vec![self.issuer()];
        }
        let subdomain = self.base_domain.as_ref().map(|base| self.issuer_at(&format!("{tenant}.{base}")));
        subdomain.into_iter().chain(domains.iter().map(|d| self.issuer_at(d))).collect()
    }

    /// The Management API's identifier: the audience of management tokens.
    pub fn management_audience(&self) -> String {
        format!("{}/api/v2/", self.public)
    }

    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.public)
    }
}
