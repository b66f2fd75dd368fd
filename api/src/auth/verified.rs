//! `VerifiedTokens`: tokens whose signature, issuer and audience were verified, with what they
//! were verified into (a Management API caller, an introspected token's claims) and when they
//! expire. A signature check costs tens of microseconds to a millisecond, a lookup well under
//! one. Only the expiry and a key revocation can change a cached answer: the expiry is checked
//! on every hit, and a revocation empties the cache. Bounded: emptied when full.

use std::collections::HashMap;
use std::sync::RwLock;

#[derive(Debug)]
pub struct VerifiedTokens<T> {
    entries: RwLock<HashMap<String, (T, i64)>>,
}

impl<T> Default for VerifiedTokens<T> {
    fn default() -> Self {
        Self { entries: RwLock::default() }
    }
}

impl<T: Clone> VerifiedTokens<T> {
    const CAPACITY: usize = 10_000;

    /// What `token` was verified into, unless it has expired by `now` (Unix seconds).
    pub fn get(&self, token: &str, now: i64) -> Option<T> {
        let entries = self.entries.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.get(token).filter(|(_, exp)| *exp > now).map(|(verified, _)| verified.clone())
    }

    /// Forgets every verification: after a key revocation, tokens it signed must fail again.
    pub fn clear(&self) {
        self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }

    pub fn insert(&self, token: &str, verified: T, exp: i64) {
        let mut entries = self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= Self::CAPACITY {
            entries.clear();
        }
        entries.insert(token.to_owned(), (verified, exp));
    }
}
