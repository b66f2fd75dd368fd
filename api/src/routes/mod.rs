//! Route modules, one `router()` each.

pub mod health;
