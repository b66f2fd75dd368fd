//! The pure model of tenancy: identifiers, value objects, events and aggregates.
//!
//! Everything here is deterministic and synchronous. This crate must never perform IO, read a
//! clock or generate randomness: callers pass those in, so that every decision can be replayed
//! and tested as `given(events).when(command).then(events)`.

mod aggregate;
pub mod client;
pub mod client_grant;
pub mod event;
pub mod hostname;
pub mod login;
pub mod organization;
mod permission;
pub mod personal;
pub mod refresh_token;
pub mod resource_server;
pub mod role;
pub mod settings;
pub mod signing_key;
pub mod sync;
pub mod tenant;
mod tenant_id;
mod text;
pub mod user;

pub use aggregate::{Aggregate, Rejection, RejectionKind};
pub use permission::Permission;
pub use tenant_id::{InvalidTenantId, RESERVED_SUBDOMAINS, TenantId};
