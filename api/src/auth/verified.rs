//! `VerifiedTokens`: tokens whose signature, issuer and audience were verified, with what they
//! were verified into (a Management API caller, an introspected token's claims) and when they
//! expire. A signature check costs tens of microseconds to a millisecond, a lookup well under
//! one. Only the expiry and a change of keys can change a cached answer: the expiry is checked
//! on every hit, and the cache empties itself when the key events' generation it was filled at
//! ([`projections::read_models::key_events::KeyEvents`]) changes. Bounded: emptied when full.

use std::collections::HashMap;
use std::sync::RwLock;

#[derive(Debug)]
pub struct VerifiedTokens<T> {
    entries: RwLock<Entries<T>>,
}

#[derive(Debug)]
struct Entries<T> {
    /// The key events' generation every entry was verified at.
    generation: u64,
    tokens: HashMap<String, (T, i64)>,
}

impl<T> Default for VerifiedTokens<T> {
    fn default() -> Self {
        Self { entries: RwLock::new(Entries { generation: 0, tokens: HashMap::new() }) }
    }
}

impl<T: Clone> VerifiedTokens<T> {
    const CAPACITY: usize = 10_000;

    /// What `token` was verified into, unless it has expired by `now` (Unix seconds) or the keys
    /// changed since (`generation`).
    pub fn get(&self, token: &str, now: i64, generation: u64) -> Option<T> {
        let entries = self.entries.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.generation != generation {
            return None;
        }
        entries.tokens.get(token).filter(|(_, exp)| *exp > now).map(|(verified, _)| verified.clone())
    }

    /// Remembers a token verified with the keys of `generation`.
    pub fn insert(&self, token: &str, verified: T, exp: i64, generation: u64) {
        let mut entries = self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.generation != generation || entries.tokens.len() >= Self::CAPACITY {
            entries.tokens.clear();
            entries.generation = generation;
        }
        entries.tokens.insert(token.to_owned(), (verified, exp));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_remembered_until_it_expires_or_the_keys_change() {
        let cache = VerifiedTokens::default();
        cache.insert("t", "caller", 100, 1);
        assert_eq!(cache.get("t", 99, 1), Some("caller"));
        assert_eq!(cache.get("t", 100, 1), None, "expired");
        assert_eq!(cache.get("t", 99, 2), None, "a key event since");
        cache.insert("u", "other", 100, 2);
        assert_eq!(cache.get("t", 99, 2), None, "the older generation is gone");
    }
}
