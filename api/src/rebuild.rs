//! `tenancy projections rebuild NAME`: delete one read model's rows, reset its checkpoint and
//! fold the log into it again, reporting progress. Safe while servers run: their runner of the
//! same projection sees the checkpoint moved back and adopts it.

use std::sync::Arc;
use std::time::Duration;

use eventstore::{Database, Vault};
use projections::read_models::fanout::SyncOptions;
use projections::{Projections, RuntimeOptions, read_models};

#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("no projection is named {name:?}; known: {known}")]
    Unknown { name: String, known: String },
    #[error(transparent)]
    Projection(#[from] projections::ProjectionError),
    #[error(transparent)]
    Store(#[from] eventstore::StoreError),
    #[error("the rebuild stopped at position {position}: {error}")]
    Failed { position: u64, error: String },
}

/// Rebuilds the SQL read model `name` up to the log's current head; returns that head.
/// `progress(checkpoint, head)` is called about once a second while it runs.
pub async fn rebuild(
    db: &Database,
    (vault, sync): (Arc<Vault>, SyncOptions),
    name: &str,
    mut progress: impl FnMut(u64, u64),
) -> Result<u64, RebuildError> {
    let all = read_models::all(vault, sync);
    let known = all.iter().map(|p| p.name().to_owned()).collect::<Vec<_>>().join(", ");
    let projection =
        all.into_iter().find(|p| p.name() == name).ok_or_else(|| RebuildError::Unknown { name: name.into(), known })?;
    projections::reset(db, projection.as_ref()).await?;
    let head = db.store.head().await?;
    let runtime = Projections::start(db, vec![projection], RuntimeOptions::default());
    loop {
        if runtime.wait_for(head, Duration::from_secs(1)).await.is_ok() {
            progress(head, head);
            return Ok(head);
        }
        let status = runtime.status().into_iter().next();
        let checkpoint = status.as_ref().map_or(0, |s| s.checkpoint);
        if let Some(failure) = status.and_then(|s| s.failure).filter(|f| f.attempts >= 3) {
            return Err(RebuildError::Failed {
                position: failure.position.unwrap_or(checkpoint),
                error: failure.error,
            });
        }
        progress(checkpoint, head);
    }
}
