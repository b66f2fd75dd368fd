//! Typed configuration of `tenancy serve`, from flags or `TENANCY_*` environment variables.

use std::net::SocketAddr;
use std::time::Duration;

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

#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "TENANCY_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub database: DatabaseArgs,

    /// `/readyz` answers 503 while a projection is more than this many events behind the log.
    #[arg(long, env = "TENANCY_READY_MAX_LAG", default_value_t = 10_000)]
    pub ready_max_lag: u64,

    /// How often to look for commits of other processes when no notification arrives.
    #[arg(long, env = "TENANCY_POLL_INTERVAL_MS", default_value_t = 1_000, value_name = "MS")]
    pub poll_interval_ms: u64,
}

impl ServeConfig {
    /// Defaults with another database and an OS-assigned port: what tests start.
    pub fn for_tests(database_url: impl Into<String>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: DatabaseArgs { database_url: database_url.into(), max_connections: 8 },
            ready_max_lag: 10_000,
            poll_interval_ms: 100,
        }
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms.max(10))
    }
}
