//! `Database`: opens the log and the read-model pool behind one URL, and applies migrations.
//!
//! The log is reached through typed, backend-specific pools (it needs advisory locks, arrays,
//! LISTEN/NOTIFY). Read models are plain portable SQL, so projections and queries share one
//! `AnyPool` and are written once for both backends.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::pool::PoolOptions;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AnyPool, PgPool, SqlitePool};

use crate::backend::BackendKind;
use crate::postgres::PgBackend;
use crate::sqlite::SqliteBackend;
use crate::{EventStore, StoreError, StoreOptions};

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// How to open a [`Database`].
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    pub store: StoreOptions,
    /// Connections per pool (the log's readers, the read models).
    pub max_connections: u32,
    /// Apply pending migrations while connecting.
    pub migrate: bool,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        Self { store: StoreOptions::default(), max_connections: 8, migrate: true }
    }
}

/// The event log and the read-model pool of one database.
#[derive(Debug, Clone)]
pub struct Database {
    pub store: EventStore,
    /// Portable SQL pool for read models and projection checkpoints.
    pub pool: AnyPool,
}

impl Database {
    pub async fn connect(url: &str, options: DatabaseOptions) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend: Arc<dyn crate::backend::Backend> = match backend_of(url)? {
            BackendKind::Postgres => {
                let pool = checked_when_idle(PgPoolOptions::new())
                    .max_connections(options.max_connections)
                    .connect(url)
                    .await?;
                if options.migrate {
                    POSTGRES_MIGRATIONS.run(&pool).await?;
                }
                Arc::new(PgBackend::new(pool, options.store.poll_interval))
            }
            BackendKind::Sqlite => {
                let (writer, readers) = open_sqlite(url, options.max_connections).await?;
                if options.migrate {
                    SQLITE_MIGRATIONS.run(&writer).await?;
                }
                Arc::new(SqliteBackend::new(writer, readers, options.store.poll_interval))
            }
        };
        let mut pool_options = checked_when_idle(AnyPoolOptions::new()).max_connections(options.max_connections);
        if backend.kind() == BackendKind::Sqlite {
            // Read models are rebuilt from the log, which stays `synchronous = FULL`; in WAL
            // mode NORMAL keeps them consistent through a crash and spares an fsync per commit.
            pool_options = pool_options.after_connect(|connection, _| {
                Box::pin(async move {
                    sqlx::Executor::execute(&mut *connection, "PRAGMA synchronous = NORMAL").await?;
                    Ok(())
                })
            });
        }
        let pool = pool_options.connect(url).await?;
        let store = EventStore::start(backend, options.store).await?;
        Ok(Self { store, pool })
    }

    pub fn kind(&self) -> BackendKind {
        self.store.kind()
    }
}

/// How long a pooled connection may sit idle and still be handed out without a ping.
const PING_AFTER_IDLE: Duration = Duration::from_secs(30);

/// Pings a pooled connection before handing it out only if it sat idle for a while (a server
/// restart or a proxy's timeout may have closed it meanwhile). sqlx's default pings every
/// time: a round trip before every statement or transaction, which under load was a third of
/// a group commit's.
fn checked_when_idle<DB: sqlx::Database>(options: PoolOptions<DB>) -> PoolOptions<DB> {
    options.test_before_acquire(false).before_acquire(|connection, meta| {
        Box::pin(async move {
            if meta.idle_for >= PING_AFTER_IDLE {
                sqlx::Connection::ping(connection).await?;
            }
            Ok(true)
        })
    })
}

/// Applies pending migrations, and nothing else.
pub async fn migrate(url: &str) -> Result<(), StoreError> {
    match backend_of(url)? {
        BackendKind::Postgres => POSTGRES_MIGRATIONS.run(&PgPool::connect(url).await?).await?,
        BackendKind::Sqlite => SQLITE_MIGRATIONS.run(&open_sqlite(url, 1).await?.0).await?,
    }
    Ok(())
}

pub fn backend_of(url: &str) -> Result<BackendKind, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(BackendKind::Postgres)
    } else if url.starts_with("sqlite:") && !url.contains(":memory:") && !url.contains("mode=memory") {
        Ok(BackendKind::Sqlite)
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}

/// SQLite: one writer connection (the log is single-writer anyway) and a pool of readers.
/// WAL lets readers run beside the writer; `synchronous = FULL` makes each commit durable.
async fn open_sqlite(url: &str, readers: u32) -> Result<(SqlitePool, SqlitePool), StoreError> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10));
    let writer = checked_when_idle(SqlitePoolOptions::new()).max_connections(1).connect_with(options.clone()).await?;
    let readers =
        checked_when_idle(SqlitePoolOptions::new()).max_connections(readers.max(1)).connect_with(options).await?;
    Ok((writer, readers))
}
