//! The projector runtime against both backends.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

mod counting;
mod failures;
mod running;
