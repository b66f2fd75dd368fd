//! `Projections`: starts one runner per projection and answers for all of them: how far they
//! got, what is failing, and whether a position has been applied everywhere yet.

use std::sync::Arc;
use std::time::Duration;

use eventstore::Database;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::demand::Demand;
use crate::runner::{Control, Runner};
use crate::tail::LogTail;
use crate::{MemoryProjection, Projection, ProjectionError};

#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Events per transaction.
    pub batch_size: usize,
    /// First retry delay of a failing event; doubles per attempt up to `retry_max`.
    pub retry_initial: Duration,
    pub retry_max: Duration,
    /// How long a SQL runner lets commits gather while nobody waits for it (see `demand.rs`).
    pub linger: Duration,
}

impl RuntimeOptions {
    /// The wait before retrying after the `attempts`-th consecutive failure.
    pub(crate) fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(16);
        (self.retry_initial * 2u32.pow(doublings)).min(self.retry_max)
    }
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            batch_size: 500,
            retry_initial: Duration::from_millis(100),
            retry_max: Duration::from_secs(30),
            linger: Duration::from_millis(20),
        }
    }
}

/// Where one projection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionStatus {
    pub name: String,
    /// Every event at or below this position has been applied.
    pub checkpoint: u64,
    /// Set while an event (or the database) keeps failing.
    pub failure: Option<Failure>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The event that fails, when the failure is about an event.
    pub position: Option<u64>,
    pub error: String,
    pub attempts: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("projections {lagging:?} have not reached position {position} in time")]
    Timeout { position: u64, lagging: Vec<String> },
    #[error("projection {0} has stopped")]
    Stopped(String),
}

/// Who waits for a projection (see [`Projections::wait_for_command`] and
/// [`Projections::wait_for_reads`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiter {
    Command,
    Read,
    /// Only `?min_position=` and start-up, which wait for every projection.
    Nobody,
}

struct RunnerHandle {
    name: String,
    /// Who waits for it before going on.
    awaited_by: Waiter,
    status: watch::Receiver<ProjectionStatus>,
    /// `None` for memory projections, which rebuild by restarting the process.
    control: Option<mpsc::Sender<Control>>,
    task: JoinHandle<()>,
}

/// The running projections of this process. Dropping it stops them.
pub struct Projections {
    runners: Vec<RunnerHandle>,
    demand: Arc<Demand>,
}

impl std::fmt::Debug for Projections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projections").field("status", &self.status()).finish()
    }
}

impl Drop for Projections {
    fn drop(&mut self) {
        for runner in &self.runners {
            runner.task.abort();
        }
    }
}

impl Projections {
    /// Starts a runner per projection; each catches up from its checkpoint, then follows live.
    pub fn start(db: &Database, projections: Vec<Arc<dyn Projection>>, options: RuntimeOptions) -> Self {
        Self::start_with_memory(db, projections, Vec::new(), options)
    }

    /// Also starts the memory projections, each from position 0.
    pub fn start_with_memory(
        db: &Database,
        projections: Vec<Arc<dyn Projection>>,
        memory: Vec<Arc<dyn MemoryProjection>>,
        options: RuntimeOptions,
    ) -> Self {
        let tail = Arc::new(LogTail::new(db.store.clone()));
        let demand = Arc::new(Demand::default());
        let mut runners: Vec<RunnerHandle> = projections
            .into_iter()
            .map(|projection| {
                let initial = ProjectionStatus { name: projection.name().to_owned(), checkpoint: 0, failure: None };
                let (status, receiver) = watch::channel(initial);
                let (control, requests) = mpsc::channel(4);
                let runner = Runner {
                    projection: projection.clone(),
                    store: db.store.clone(),
                    tail: tail.clone(),
                    pool: db.pool.clone(),
                    options: options.clone(),
                    status,
                    control: requests,
                    demand: demand.clone(),
                };
                let task = tokio::spawn(runner.run());
                RunnerHandle {
                    name: projection.name().to_owned(),
                    awaited_by: if projection.awaited_by_reads() { Waiter::Read } else { Waiter::Nobody },
                    status: receiver,
                    control: Some(control),
                    task,
                }
            })
            .collect();
        runners.extend(memory.into_iter().map(|projection| {
            let name = projection.name().to_owned();
            let (status, receiver) =
                watch::channel(ProjectionStatus { name: name.clone(), checkpoint: 0, failure: None });
            let task =
                tokio::spawn(crate::memory::run(projection, db.store.clone(), tail.clone(), options.clone(), status));
            RunnerHandle { name, awaited_by: Waiter::Command, status: receiver, control: None, task }
        }));
        Self { runners, demand }
    }

    pub fn status(&self) -> Vec<ProjectionStatus> {
        self.runners.iter().map(|r| r.status.borrow().clone()).collect()
    }

    /// Waits until every projection has applied `position`, for at most `timeout`.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> Result<(), WaitError> {
        self.wait_among(|_| true, position, timeout).await
    }

    /// Waits until the in-memory models have applied `position`: what a command waits for
    /// before it answers. They apply a commit of this process microseconds after it, from the
    /// events the writer kept, so a command's latency is its append's.
    pub async fn wait_for_command(&self, position: u64, timeout: Duration) -> Result<(), WaitError> {
        self.wait_among(|r| r.awaited_by == Waiter::Command, position, timeout).await
    }

    /// Waits until the SQL read models a read waits for (all but those whose work grows with
    /// the number of tenants) have applied `position`.
    pub async fn wait_for_reads(&self, position: u64, timeout: Duration) -> Result<(), WaitError> {
        self.wait_among(|r| r.awaited_by == Waiter::Read, position, timeout).await
    }

    /// Waits until the projection `name` has applied `position`.
    pub async fn wait_for_projection(&self, name: &str, position: u64, timeout: Duration) -> Result<(), WaitError> {
        self.wait_among(|r| r.name == name, position, timeout).await
    }

    async fn wait_among(
        &self,
        waited: impl Fn(&RunnerHandle) -> bool,
        position: u64,
        timeout: Duration,
    ) -> Result<(), WaitError> {
        let deadline = tokio::time::Instant::now() + timeout;
        if self.runners.iter().any(|r| r.awaited_by != Waiter::Command && waited(r)) {
            self.demand.want(position);
        }
        for runner in self.runners.iter().filter(|r| waited(r)) {
            let mut status = runner.status.clone();
            match tokio::time::timeout_at(deadline, status.wait_for(|s| s.checkpoint >= position)).await {
                Ok(Ok(_)) => {}
                Ok(Err(_)) => return Err(WaitError::Stopped(runner.name.clone())),
                Err(_) => {
                    let lagging =
                        self.status().into_iter().filter(|s| s.checkpoint < position).map(|s| s.name).collect();
                    return Err(WaitError::Timeout { position, lagging });
                }
            }
        }
        Ok(())
    }

    /// Rebuilds one projection from position 0: its runner deletes its rows and resets its
    /// checkpoint in one transaction, then catches up again. Returns once the reset is done;
    /// from then on `wait_for` waits for the rebuilt model.
    pub async fn rebuild(&self, name: &str) -> Result<(), ProjectionError> {
        let runner =
            self.runners.iter().find(|r| r.name == name).ok_or_else(|| ProjectionError::Unknown(name.to_owned()))?;
        let stopped = || ProjectionError::Unavailable(name.to_owned());
        let control = runner.control.as_ref().ok_or_else(stopped)?;
        let (reply, done) = oneshot::channel();
        control.send(Control::Rebuild(reply)).await.map_err(|_| stopped())?;
        done.await.map_err(|_| stopped())?
    }
}

/// Rebuilds a projection that no runner of this process runs (e.g. from the command line while
/// the server is stopped): deletes its rows and resets its checkpoint to 0.
pub async fn reset(db: &Database, projection: &dyn Projection) -> Result<(), ProjectionError> {
    crate::runner::reset(&db.pool, projection).await
}
