//! Test support: a fresh, empty database per test, on SQLite (always) or PostgreSQL (when
//! `TENANCY_TEST_DATABASE_URL` names a server; required when `CI` is set).
//!
//! Each PostgreSQL test database is created from the server URL and dropped when the
//! [`TestDatabase`] is dropped, so tests never see each other's rows.

use std::time::Duration;

use sqlx::Connection;

use crate::{BackendKind, Database, DatabaseOptions, StoreError, StoreOptions};

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_URL_VAR: &str = "TENANCY_TEST_DATABASE_URL";

#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    pub kind: BackendKind,
    /// Keeps the SQLite file's directory alive.
    _dir: Option<tempfile::TempDir>,
    /// Server URL and database name, to drop it afterwards.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("tenancy.db").display());
        Self { url, kind: BackendKind::Sqlite, _dir: Some(dir), postgres: None }
    }

    /// A fresh PostgreSQL database, or `None` when no server is configured. In CI a missing
    /// server is a failure, not a skip: a suite that silently did not run proves nothing.
    pub async fn postgres() -> Option<Self> {
        let Ok(server) = std::env::var(POSTGRES_URL_VAR) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "{POSTGRES_URL_VAR} must be set in CI: the PostgreSQL suite may not be skipped"
            );
            eprintln!("skipping the PostgreSQL variant: {POSTGRES_URL_VAR} is not set");
            return None;
        };
        let name = format!("tenancy_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = sqlx::PgConnection::connect(&server).await.expect("connect to the PostgreSQL test server");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        let _ = admin.close().await;
        let url = with_database(&server, &name);
        Some(Self { url, kind: BackendKind::Postgres, _dir: None, postgres: Some((server, name)) })
    }

    /// The database of `kind`, or `None` for PostgreSQL without a configured server.
    pub async fn of(kind: BackendKind) -> Option<Self> {
        match kind {
            BackendKind::Sqlite => Some(Self::sqlite()),
            BackendKind::Postgres => Self::postgres().await,
        }
    }

    pub fn options() -> DatabaseOptions {
        DatabaseOptions {
            store: StoreOptions { poll_interval: Duration::from_millis(100), ..StoreOptions::default() },
            ..DatabaseOptions::default()
        }
    }

    pub async fn connect(&self) -> Database {
        self.try_connect(Self::options()).await.expect("connect to the test database")
    }

    pub async fn try_connect(&self, options: DatabaseOptions) -> Result<Database, StoreError> {
        Database::connect(&self.url, options).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((server, name)) = self.postgres.take() else { return };
        // Drop runs outside async; a small runtime on its own thread does the cleanup.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async move {
                    if let Ok(mut admin) = sqlx::PgConnection::connect(&server).await {
                        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                        let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await;
                    }
                });
            }
        });
        let _ = cleanup.join();
    }
}

/// `server` with its database name replaced by `name`, query string kept.
fn with_database(server: &str, name: &str) -> String {
    let (base, query) = server.split_once('?').map_or((server, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// Runs an async test body against each backend: `backend_tests!(body_fn, ...)` expands to a
/// `sqlite` and a `postgres` test module with one test per function. Each function takes a
/// fresh [`TestDatabase`].
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::testing::TestDatabase::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::testing::TestDatabase::postgres().await {
                        super::$name(db).await;
                    }
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_of_a_server_url_is_replaced() {
        assert_eq!(with_database("postgres://u@h:5432/test", "x"), "postgres://u@h:5432/x");
        assert_eq!(
            with_database("postgres://u@h:5432/test?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
    }
}
