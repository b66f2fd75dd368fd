//! The tenancy server: the HTTP API (axum) and the `tenancy` command line.
//!
//! `app` builds the router from an [`AppState`], so tests can drive it in-process; `server`
//! binds it to a socket with the database and projections behind it; `cli` is the binary's
//! front door. Handlers translate HTTP to commands and queries; they hold no domain rules.

pub mod app;
pub mod auth;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod consistency;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod passwords;
pub mod rebuild;
mod routes;
pub mod routing;
pub mod secrets;
pub mod server;
pub mod telemetry;

pub use app::{AppState, app};
pub use config::ServeConfig;
pub use server::Server;
