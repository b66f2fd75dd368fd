//! Black-box HTTP tests: each starts the real server on a random port, on SQLite and (when
//! `TENANCY_TEST_DATABASE_URL` is set, always in CI) on PostgreSQL.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod algorithms;
mod auth;
mod bootstrap;
mod claims;
mod clients;
mod control_plane;
mod errors;
mod health;
mod introspection;
mod keys;
mod login;
mod machine_organizations;
mod organizations;
mod rebuild;
mod refresh;
mod resource_servers;
mod roles;
mod routing;
mod settings;
mod tenants;
mod users;
