//! The `Projection` trait: what a read model tells the runtime about itself.

use async_trait::async_trait;
use eventstore::RecordedEvent;
use eventstore::sqlx::AnyConnection;

use crate::ProjectionError;

/// A read model built from the log.
///
/// `apply` and `reset` run inside a transaction the runtime owns; they must not commit, and
/// they must write only their own rows (their own tables, or rows they alone write, such as
/// the fan-out's synced rows). Read models use portable SQL (TEXT and BIGINT, flags as 0/1:
/// the Any driver cannot decode SQLite booleans;
/// `$1` placeholders; `ON CONFLICT … DO UPDATE`), so one implementation serves both backends.
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// A stable, versioned name such as `roles.v1`. Changing what a projection writes means a
    /// new version, which starts from position 0 with its own checkpoint.
    fn name(&self) -> &str;

    /// The event types `apply` needs; the runtime reads only these. Empty means all.
    fn event_types(&self) -> &[&str];

    /// Folds one event into the read model. Must be deterministic: the same events in the same
    /// order always give the same rows, so a rebuild reproduces the live model.
    async fn apply(&self, tx: &mut AnyConnection, event: &RecordedEvent) -> Result<(), ProjectionError>;

    /// Folds a batch, in order. The default applies one event at a time; a projection may
    /// write several events with one statement instead. A failure names the index of the
    /// event at fault (or the first of the events a failed statement covered): the runner
    /// rolls back, applies what precedes it, and retries from there.
    async fn apply_batch(
        &self,
        tx: &mut AnyConnection,
        events: &[RecordedEvent],
    ) -> Result<(), (usize, ProjectionError)> {
        for (index, event) in events.iter().enumerate() {
            self.apply(tx, event).await.map_err(|error| (index, error))?;
        }
        Ok(())
    }

    /// Whether a read of this process waits for this projection to reach every position a
    /// command of the process answered with (read-your-writes). A projection whose work grows
    /// with the number of tenants (the control plane's fan-out) says no, so that reads do not
    /// wait on it; `?min_position=` still does.
    fn awaited_by_reads(&self) -> bool {
        true
    }

    /// Deletes every row the projection wrote, before a rebuild from position 0.
    async fn reset(&self, tx: &mut AnyConnection) -> Result<(), ProjectionError>;
}
