//! Route modules, one `router()` each.

pub mod health;
pub mod management;
pub mod oauth;
pub mod well_known;
