//! The `tenancy` command line: `serve`, `migrate`, `bootstrap`, `audit verify`, `projections status`.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use eventstore::{Database, DatabaseOptions};
use serde_json::json;

use std::net::SocketAddr;

use crate::config::{DatabaseArgs, InstanceArgs, MasterKeyArgs, ServeConfig, SyncArgs, Urls};
use crate::server::{Server, shutdown_signal};
use crate::telemetry::{self, LogFormat};

#[derive(Debug, Parser)]
#[command(name = "tenancy", version, about = "Event-sourced multi-tenancy and authorization server")]
struct Cli {
    /// Log lines as text or as JSON objects.
    #[arg(long, global = true, env = "TENANCY_LOG_FORMAT", value_enum, default_value_t)]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (applies pending migrations first).
    Serve(ServeConfig),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Create the control plane, the Management API and a management client on an empty
    /// database, and print how to get a token as JSON. Changes nothing on a bootstrapped one.
    Bootstrap(BootstrapCommand),
    /// Audit the event log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Inspect the projections.
    #[command(subcommand)]
    Projections(ProjectionsCommand),
}

#[derive(Debug, clap::Args)]
struct BootstrapCommand {
    #[command(flatten)]
    instance: InstanceArgs,

    /// The address `serve` listens on, for the default public URL.
    #[arg(long, env = "TENANCY_LISTEN", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain; exit status 1 if the log was tampered with.
    Verify(DatabaseArgs),
}

#[derive(Debug, Subcommand)]
enum ProjectionsCommand {
    /// Print each projection's checkpoint, lag and failure as JSON.
    Status(DatabaseArgs),
    /// Delete one read model and build it again from the log, with progress on stderr.
    Rebuild {
        /// The projection's versioned name, e.g. `roles.v1` (see `projections status`).
        name: String,
        #[command(flatten)]
        database: DatabaseArgs,
        /// Opens the personal data that read models hold in plaintext.
        #[command(flatten)]
        master_key: MasterKeyArgs,
        /// What `fanout.v1` syncs: give the same switches as `serve`.
        #[command(flatten)]
        sync: SyncArgs,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format, matches!(cli.command, Command::Serve(_)));
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let serving = matches!(cli.command, Command::Serve(_));
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(err) => {
            // The server's failures belong in its log stream; a one-shot command just says why.
            if serving {
                tracing::error!(error = %err, "tenancy serve failed");
            } else {
                eprintln!("error: {err}");
            }
            ExitCode::FAILURE
        }
    }
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// name, position, failing_position, failure, attempts
type CheckpointRow = (String, i64, Option<i64>, Option<String>, i64);

async fn run(command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Serve(config) => {
            let server = Server::build(config).await?;
            if let Some(report) = &server.bootstrap {
                // Printed once, on the start that created them: a generated secret is stored
                // nowhere it could be read back. A closed stdout must not stop the server.
                let _ = writeln!(std::io::stdout(), "{}", report.json);
            }
            tracing::info!(
                address = %server.local_addr(),
                backend = server.state().db.kind().name(),
                "tenancy listening on http://{}",
                server.local_addr()
            );
            server.run(shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate(database) => {
            eventstore::migrate(&database.database_url).await?;
            println!(
                "{}",
                json!({ "migrated": true, "backend": eventstore::backend_of(&database.database_url)?.name() })
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Bootstrap(command) => {
            let master_key = command.instance.master_key()?;
            let db = open(&command.instance.database).await?;
            let urls =
                Urls::new(command.instance.public_url.as_deref(), command.listen, command.instance.base_domain.clone());
            let vault = Arc::new(eventstore::Vault::new(db.pool.clone(), master_key.clone()));
            let commands = commands::Commands::new(db.store.clone(), vault.clone());
            let report =
                crate::bootstrap::bootstrap(&commands, &master_key, &vault, &urls, &command.instance.bootstrap).await?;
            println!("{}", report.json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(AuditCommand::Verify(database)) => {
            let db = open(&database).await?;
            let verification = db.store.verify().await?;
            let tampered = verification.tampered.map(|t| json!({ "position": t.position, "kind": t.kind.to_string() }));
            println!(
                "{}",
                json!({
                    "intact": tampered.is_none(),
                    "checked": verification.checked,
                    "head": verification.head,
                    "head_hash": verification.head_hash,
                    "tampered": tampered,
                })
            );
            Ok(if tampered.is_none() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Projections(ProjectionsCommand::Rebuild { name, database, master_key, sync }) => {
            let master_key = master_key.resolve(&database)?;
            let db = open(&database).await?;
            let vault = Arc::new(eventstore::Vault::new(db.pool.clone(), master_key));
            let head = crate::rebuild::rebuild(&db, (vault, sync.options()), &name, |checkpoint, head| {
                let percent = (checkpoint * 100).checked_div(head).unwrap_or(100);
                eprint!("\rrebuilding {name}: {checkpoint}/{head} events ({percent}%)");
            })
            .await?;
            eprintln!();
            println!("{}", json!({ "rebuilt": name, "position": head }));
            Ok(ExitCode::SUCCESS)
        }
        Command::Projections(ProjectionsCommand::Status(database)) => {
            let db = open(&database).await?;
            let head = db.store.head().await?;
            let rows: Vec<CheckpointRow> = eventstore::sqlx::query_as(
                "SELECT name, position, failing_position, failure, attempts FROM projection_checkpoints ORDER BY name",
            )
            .fetch_all(&db.pool)
            .await?;
            let projections: Vec<_> = rows
                .into_iter()
                .map(|(name, position, failing, failure, attempts)| {
                    json!({
                        "name": name,
                        "checkpoint": position,
                        "lag": head.saturating_sub(position as u64),
                        "failing_position": failing,
                        "error": failure,
                        "attempts": attempts,
                    })
                })
                .collect();
            println!("{}", json!({ "head": head, "projections": projections }));
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn open(database: &DatabaseArgs) -> Result<Database, Failure> {
    let options = DatabaseOptions { max_connections: database.max_connections, ..DatabaseOptions::default() };
    Ok(Database::connect(&database.database_url, options).await?)
}
