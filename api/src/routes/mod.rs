//! Route modules, one `router()` each.

pub mod health;
pub mod management;
pub mod oauth;
pub mod openapi;
pub mod well_known;
