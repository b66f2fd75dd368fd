//! The projector runtime and, as later issues add them, the read models it maintains.
//!
//! A [`Projection`] folds events into tables. The runtime runs each one in its own task:
//! it applies a batch and advances that projection's checkpoint in the same transaction,
//! resumes at `position > checkpoint`, catches up on start and then follows the log live.
//! A failing event is retried with backoff and recorded, never skipped, and never stops the
//! other projections. [`Projections::wait_for`] and its narrower forms are how commands and
//! reads wait until writes are readable.
//!
//! This crate must never append to the log: projections only read it.

mod checkpoint;
mod demand;
mod error;
mod memory;
mod projection;
pub mod read_models;
mod runner;
mod runtime;
mod tail;

pub use error::ProjectionError;
pub use memory::MemoryProjection;
pub use projection::Projection;
pub use runtime::{Failure, ProjectionStatus, Projections, RuntimeOptions, WaitError, reset};
