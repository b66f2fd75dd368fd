//! The append-only event log of tenancy, on PostgreSQL or SQLite.
//!
//! Guarantees (each with a test in `tests/contract.rs` that runs on both backends):
//! 1. atomic multi-stream append with expected versions; a stale version is a typed
//!    [`StoreError::Conflict`] and appends nothing;
//! 2. no gaps for readers: positions are contiguous and committed in order, so a reader that
//!    has seen position P never later meets a committed event below P;
//! 3. append-only in the database itself (triggers refuse UPDATE and DELETE);
//! 4. tamper evidence: a SHA-256 chain that [`EventStore::verify`] recomputes;
//! 5. idempotency keys per tenant;
//! 6. schema evolution by upcasting on read ([`Upcasters`]).
//!
//! This crate knows nothing of the domain's events: payloads are JSON. It must never update or
//! delete a row of `events`.

mod append;
mod backend;
mod database;
mod error;
mod event;
mod hash;
mod head;
mod keys;
mod known;
mod plan;
mod postgres;
mod prepare;
mod query;
mod recent;
mod row;
mod sqlite;
mod store;
mod subscription;
mod upcast;
mod vault;
mod verify;
mod writer;

#[cfg(feature = "testing")]
pub mod testing;

pub use append::{AppendRequest, Appended, ExpectedVersion, Idempotency, StreamWrite, UniqueChange};
pub use backend::BackendKind;
pub use database::{Database, DatabaseOptions, backend_of, migrate};
pub use error::StoreError;
pub use event::{Actor, Metadata, NewEvent, RecordedEvent};
pub use keys::{KeyError, MasterKey};
pub use plan::IdempotencyRecord;
pub use prepare::StoreLimits;
pub use query::LogQuery;
pub use store::{EventStore, StoreOptions};
pub use subscription::Subscription;
pub use upcast::{UpcastStep, Upcasters};
pub use vault::{Vault, VaultError};
pub use verify::{TamperKind, Tampered, Verification};
pub use writer::WriterStats;

/// The sqlx version this crate is built on, re-exported so dependents bind the same types.
pub use sqlx;
