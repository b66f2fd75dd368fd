//! The pure model of tenancy: identifiers, value objects, events and aggregates.
//!
//! Everything here is deterministic and synchronous. This crate must never perform IO, read a
//! clock or generate randomness: callers pass those in, so that every decision can be replayed
//! and tested as `given(events).when(command).then(events)`.

mod tenant_id;

pub use tenant_id::{InvalidTenantId, TenantId};
