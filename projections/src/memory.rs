//! Read models held in memory, for the hot read paths: rebuilt from the log when the process
//! starts, then kept live by a runner like any other projection, and counted by `wait_for`.
//!
//! They have no checkpoint row and no transaction: applying an event is a change to a map
//! under a lock, and the process that holds the map is the only one that reads it.

use std::sync::Arc;

use eventstore::{EventStore, RecordedEvent};
use tokio::sync::watch;

use crate::ProjectionError;
use crate::runtime::{Failure, ProjectionStatus, RuntimeOptions};
use crate::tail::{Batch, LogTail};

/// A read model in memory. `apply` must be deterministic and must leave the model unchanged
/// when it fails, so that a retried event applies once.
pub trait MemoryProjection: Send + Sync + 'static {
    fn name(&self) -> &str;

    /// The event types `apply` needs; the runner reads only these. Empty means all.
    fn event_types(&self) -> &[&str];

    fn apply(&self, event: &RecordedEvent) -> Result<(), ProjectionError>;
}

pub(crate) async fn run(
    projection: Arc<dyn MemoryProjection>,
    store: EventStore,
    tail: Arc<LogTail>,
    options: RuntimeOptions,
    status: watch::Sender<ProjectionStatus>,
) {
    let mut checkpoint = 0;
    let mut attempts = 0u32;
    let mut head = store.watch_head();
    loop {
        let known_head = *head.borrow_and_update();
        if known_head <= checkpoint {
            if head.changed().await.is_err() {
                return;
            }
            continue;
        }
        let failure = match read(&store, &tail, (checkpoint, known_head), projection.event_types(), &options).await {
            Ok(batch) => {
                let target = batch.target(options.batch_size);
                let mut failed = None;
                for event in &batch.events {
                    if let Err(error) = projection.apply(event) {
                        failed = Some((Some(event.position), error));
                        break;
                    }
                    checkpoint = event.position;
                }
                if failed.is_none() {
                    checkpoint = target;
                }
                failed
            }
            Err(error) => Some((None, error.into())),
        };
        match failure {
            None => {
                attempts = 0;
                status.send_modify(|s| {
                    s.checkpoint = checkpoint;
                    s.failure = None;
                });
            }
            Some((position, error)) => {
                attempts += 1;
                let message = error.to_string();
                tracing::error!(projection = projection.name(), position, attempts, error = %message, "projection failed; retrying");
                status.send_modify(|s| {
                    s.checkpoint = checkpoint;
                    s.failure = Some(Failure { position, error: message, attempts });
                });
                tokio::time::sleep(options.backoff(attempts)).await;
            }
        }
    }
}

/// What follows `after` up to `head`: straight from the writer's memory when this process
/// committed it (what a command waits for, so no queue behind the SQL runners for the shared
/// tail), from the shared tail otherwise.
async fn read(
    store: &EventStore,
    tail: &LogTail,
    (after, head): (u64, u64),
    types: &[&str],
    options: &RuntimeOptions,
) -> Result<Batch, eventstore::StoreError> {
    match store.read_recent(after, head) {
        Some(mut events) if events.len() <= options.batch_size => {
            if !types.is_empty() {
                events.retain(|event| types.contains(&event.event_type.as_str()));
            }
            Ok(Batch { events, through: head })
        }
        _ => tail.read(after, head, types, options.batch_size).await,
    }
}
