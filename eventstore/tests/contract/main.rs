//! The event store's contract, run against both backends: every test here runs once on SQLite
//! and once on PostgreSQL (when `TENANCY_TEST_DATABASE_URL` is set; CI requires it).

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod appending;
mod concurrency;
mod in_turn;
mod integrity;
mod reading;
mod support;
