//! One projection's task: read a batch past the checkpoint, apply it and advance the checkpoint
//! in one transaction, repeat; wait for the log's head to move when caught up; retry a failing
//! event with backoff, applying everything before it first. The runner owns every change of its
//! projection's checkpoint, rebuilds included, so the status it reports is never stale.

use std::sync::Arc;

use eventstore::sqlx::AnyPool;
use eventstore::{BackendKind, EventStore, RecordedEvent, StoreError};
use tokio::sync::{mpsc, oneshot, watch};

use crate::demand::Demand;
use crate::runtime::{Failure, ProjectionStatus, RuntimeOptions};
use crate::tail::LogTail;
use crate::{Projection, ProjectionError, checkpoint};

/// Requests to a running runner.
pub(crate) enum Control {
    /// Delete the read model, reset the checkpoint to 0 and catch up again.
    Rebuild(oneshot::Sender<Result<(), ProjectionError>>),
}

pub(crate) struct Runner {
    pub projection: Arc<dyn Projection>,
    pub store: EventStore,
    pub tail: Arc<LogTail>,
    pub pool: AnyPool,
    pub options: RuntimeOptions,
    pub status: watch::Sender<ProjectionStatus>,
    pub control: mpsc::Receiver<Control>,
    pub demand: Arc<Demand>,
}

/// How one attempt at a batch ended.
enum Applied {
    /// Applied, checkpoint advanced to this position.
    Done(u64),
    /// Another process moved the checkpoint (it ran the batch, or a rebuild reset it): adopt it.
    Moved(u64),
    /// Rolled back. `index` is the event that failed, if it was one and not the database.
    Failed { index: Option<usize>, error: ProjectionError },
}

/// Where a runner stands: every event up to `reached` is applied, and `persisted` is the
/// checkpoint row's value. They differ after a run of events of types this projection ignores:
/// skipping those costs no transaction, and the row catches up with the next batch it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Progress {
    reached: u64,
    persisted: u64,
}

impl Progress {
    fn at(position: u64) -> Self {
        Self { reached: position, persisted: position }
    }
}

/// The progress after a step and, if an event failed, its position and the error.
type Step = (Progress, Option<(Option<u64>, ProjectionError)>);

impl Runner {
    pub async fn run(mut self) {
        let mut attempts = 0;
        let checkpoint = loop {
            match checkpoint::ensure(&self.pool, self.projection.name()).await {
                Ok(position) => break position,
                Err(error) => {
                    attempts += 1;
                    if let Some(control) = self.failed(None, &error, attempts).await {
                        self.refuse(control);
                    }
                }
            }
        };
        self.report(checkpoint, None);
        attempts = 0;
        let mut progress = Progress::at(checkpoint);
        let mut head = self.store.watch_head();
        // Caught up and woken by a new commit: let the commits after it gather too, unless
        // someone waits (demand.rs). A runner catching up does not linger.
        let mut woken = false;
        loop {
            if let Ok(control) = self.control.try_recv() {
                progress = self.handle(control, progress).await;
                continue;
            }
            let known_head = *head.borrow_and_update();
            if known_head <= progress.reached {
                tokio::select! {
                    changed = head.changed() => if changed.is_err() { return },
                    Some(control) = self.control.recv() => progress = self.handle(control, progress).await,
                }
                woken = true;
                continue;
            }
            if std::mem::take(&mut woken) {
                self.demand.linger(progress.reached, self.options.linger).await;
                continue;
            }
            let (reached, failure) = self.step(progress, known_head).await;
            progress = reached;
            match failure {
                None => {
                    attempts = 0;
                    self.report(progress.reached, None);
                }
                Some((position, error)) => {
                    attempts += 1;
                    self.status.send_modify(|s| s.checkpoint = progress.reached);
                    if let Some(control) = self.failed(position, &error, attempts).await {
                        attempts = 0;
                        progress = self.handle(control, progress).await;
                    }
                }
            }
        }
    }

    fn report(&self, checkpoint: u64, failure: Option<Failure>) {
        self.status.send_modify(|s| {
            s.checkpoint = checkpoint;
            s.failure = failure;
        });
    }

    async fn handle(&mut self, control: Control, progress: Progress) -> Progress {
        match control {
            Control::Rebuild(reply) => {
                let result = reset(&self.pool, self.projection.as_ref()).await;
                let progress = if result.is_ok() { Progress::at(0) } else { progress };
                self.report(progress.reached, None);
                let _ = reply.send(result);
                progress
            }
        }
    }

    /// Before the checkpoint row exists, nothing can be done: say so.
    fn refuse(&self, control: Control) {
        match control {
            Control::Rebuild(reply) => {
                let _ = reply.send(Err(ProjectionError::Unavailable(self.projection.name().to_owned())));
            }
        }
    }

    /// Applies what follows the reached position up to `head`, one batch.
    async fn step(&self, progress: Progress, head: u64) -> Step {
        let batch = match self
            .tail
            .read(progress.reached, head, self.projection.event_types(), self.options.batch_size)
            .await
        {
            Ok(batch) => batch,
            Err(error) => return (progress, Some((failing_position(&error), error.into()))),
        };
        let target = batch.target(self.options.batch_size);
        let events = batch.events;
        if events.is_empty() {
            return (Progress { reached: target, persisted: progress.persisted }, None);
        }
        match self.apply(&events, progress.persisted, target).await {
            Applied::Done(position) | Applied::Moved(position) => (Progress::at(position), None),
            Applied::Failed { index: None, error } => (progress, Some((events.first().map(|e| e.position), error))),
            Applied::Failed { index: Some(index), error } => {
                let failing = Some(events[index].position);
                if index == 0 {
                    return (progress, Some((failing, error)));
                }
                // Keep what applies: everything before the failing event, in its own transaction.
                match self.apply(&events[..index], progress.persisted, events[index - 1].position).await {
                    Applied::Done(position) | Applied::Moved(position) => {
                        (Progress::at(position), Some((failing, error)))
                    }
                    Applied::Failed { .. } => (progress, Some((failing, error))),
                }
            }
        }
    }

    async fn apply(&self, events: &[RecordedEvent], expected: u64, target: u64) -> Applied {
        let failed = |error: ProjectionError| Applied::Failed { index: None, error };
        let name = self.projection.name();
        // A read model is rebuilt from the log, which is durable on its own: its commits need not
        // wait for the disk. A crash loses at most the last batches, which are applied again
        // (the checkpoint is in the same transaction, so model and checkpoint never disagree).
        let begun = match self.store.kind() {
            BackendKind::Postgres => self.pool.begin_with("BEGIN; SET LOCAL synchronous_commit = off").await,
            BackendKind::Sqlite => self.pool.begin().await,
        };
        let mut tx = match begun {
            Ok(tx) => tx,
            Err(error) => return failed(error.into()),
        };
        if let Err((index, error)) = self.projection.apply_batch(&mut tx, events).await {
            let _ = tx.rollback().await;
            // Another process running this projection may have applied these events first, and
            // our writes collided with its rows: that is not a failure of the event.
            return match checkpoint::stored(&self.pool, name).await {
                Ok(stored) if stored != expected => Applied::Moved(stored),
                _ => Applied::Failed { index: Some(index), error },
            };
        }
        // Optimistic: the checkpoint advances only from where this batch started. Another process
        // that moved it (running the same batch, or a rebuild) makes this a no-op, and the
        // batch is rolled back and the stored checkpoint adopted.
        match checkpoint::advance_from(&mut tx, name, expected, target).await {
            Ok(true) => {}
            Ok(false) => {
                let _ = tx.rollback().await;
                return match checkpoint::stored(&self.pool, name).await {
                    Ok(stored) => Applied::Moved(stored),
                    Err(error) => failed(error),
                };
            }
            Err(error) => return failed(error),
        }
        match tx.commit().await {
            Ok(()) => Applied::Done(target),
            Err(error) => failed(error.into()),
        }
    }

    /// Records and reports a failure, then waits out the backoff. A control request cuts the
    /// wait short and is returned for the caller to handle.
    async fn failed(&mut self, position: Option<u64>, error: &ProjectionError, attempts: u32) -> Option<Control> {
        let name = self.projection.name();
        let message = error.to_string();
        tracing::error!(projection = name, position, attempts, error = %message, "projection failed; retrying");
        if let Err(err) = checkpoint::record_failure(&self.pool, name, position, &message).await {
            tracing::error!(projection = name, error = %err, "could not record the projection's failure");
        }
        self.status.send_modify(|s| s.failure = Some(Failure { position, error: message, attempts }));
        let backoff = self.options.backoff(attempts);
        tokio::select! {
            () = tokio::time::sleep(backoff) => None,
            control = self.control.recv() => control,
        }
    }
}

/// Deletes a projection's rows and sets its checkpoint to 0, in one transaction. A runner of the
/// same projection in another process sees the reset checkpoint at its next batch and adopts it.
pub(crate) async fn reset(pool: &AnyPool, projection: &dyn Projection) -> Result<(), ProjectionError> {
    checkpoint::ensure(pool, projection.name()).await?;
    let mut tx = pool.begin().await?;
    checkpoint::lock(&mut tx, projection.name()).await?;
    projection.reset(&mut tx).await?;
    checkpoint::advance(&mut tx, projection.name(), 0).await?;
    tx.commit().await?;
    Ok(())
}

/// The position a read error names, if it names one.
fn failing_position(error: &StoreError) -> Option<u64> {
    match error {
        StoreError::Corrupt { position, .. }
        | StoreError::UnknownEventType { position, .. }
        | StoreError::Upcast { position, .. } => Some(*position),
        _ => None,
    }
}
