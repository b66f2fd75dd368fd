//! Brute-force protection for password logins: failed attempts are counted per user and per
//! client IP address in fixed windows; past the limit, the token endpoint answers 429 with
//! `Retry-After` until the window ends, without checking the password (so a locked-out guesser
//! learns nothing and costs no argon2 hash). Only failures count: a busy office behind one
//! address logging in correctly is never throttled. In memory, per process.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use domain::TenantId;

/// Failed logins allowed per user (Auth0's brute-force protection also allows 10).
pub const FAILURES_PER_USER: u32 = 10;
/// Failed logins allowed per IP address, across users and tenants.
pub const FAILURES_PER_IP: u32 = 100;
/// How long a count lasts.
pub const WINDOW: Duration = Duration::from_secs(300);
/// Counters kept before expired ones are dropped.
const PRUNE_AT: usize = 100_000;

#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<Key, Window>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// A tenant's username or email, lowercased.
    User(TenantId, String),
    Ip(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// Who is attempting: the keys their failures count under.
#[derive(Debug, Clone)]
pub struct Attempt {
    user: Key,
    ip: Option<Key>,
}

impl Attempt {
    pub fn new(tenant: &TenantId, username: &str, ip: Option<IpAddr>) -> Self {
        Self { user: Key::User(tenant.clone(), username.to_lowercase()), ip: ip.map(Key::Ip) }
    }

    fn keys(&self) -> impl Iterator<Item = (&Key, u32)> {
        std::iter::once((&self.user, FAILURES_PER_USER)).chain(self.ip.iter().map(|ip| (ip, FAILURES_PER_IP)))
    }
}

impl LoginThrottle {
    /// `Err(retry_after)` when the user or the address used up its failures.
    pub fn check(&self, attempt: &Attempt) -> Result<(), Duration> {
        self.check_at(attempt, Instant::now())
    }

    pub fn failed(&self, attempt: &Attempt) {
        self.failed_at(attempt, Instant::now());
    }

    /// A correct password clears the user's count (not the address's).
    pub fn succeeded(&self, attempt: &Attempt) {
        self.lock().remove(&attempt.user);
    }

    fn check_at(&self, attempt: &Attempt, now: Instant) -> Result<(), Duration> {
        let failures = self.lock();
        let wait = attempt
            .keys()
            .filter_map(|(key, limit)| failures.get(key).map(|window| (window, limit)))
            .filter(|(window, limit)| window.failures >= *limit && now < window.started + WINDOW)
            .map(|(window, _)| window.started + WINDOW - now)
            .max();
        wait.map_or(Ok(()), Err)
    }

    fn failed_at(&self, attempt: &Attempt, now: Instant) {
        let mut failures = self.lock();
        if failures.len() >= PRUNE_AT {
            failures.retain(|_, window| now < window.started + WINDOW);
        }
        for (key, _) in attempt.keys() {
            let window = failures.entry(key.clone()).or_insert(Window { started: now, failures: 0 });
            if now >= window.started + WINDOW {
                *window = Window { started: now, failures: 0 };
            }
            window.failures += 1;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Window>> {
        self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(user: &str, ip: [u8; 4]) -> Attempt {
        Attempt::new(&TenantId::control_plane(), user, Some(IpAddr::from(ip)))
    }

    #[test]
    fn a_user_is_throttled_after_ten_failures_until_the_window_ends() {
        let throttle = LoginThrottle::default();
        let start = Instant::now();
        for _ in 0..FAILURES_PER_USER {
            assert!(throttle.check_at(&attempt("Ann", [10, 0, 0, 1]), start).is_ok());
            throttle.failed_at(&attempt("ann", [10, 0, 0, 1]), start);
        }
        let later = start + Duration::from_secs(60);
        assert_eq!(throttle.check_at(&attempt("ANN", [10, 0, 0, 2]), later), Err(WINDOW - Duration::from_secs(60)));
        assert!(throttle.check_at(&attempt("bob", [10, 0, 0, 1]), later).is_ok(), "another user is not");
        assert!(throttle.check_at(&attempt("ann", [10, 0, 0, 1]), start + WINDOW).is_ok(), "the window ended");
    }

    #[test]
    fn an_address_is_throttled_after_a_hundred_failures_across_users() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for n in 0..FAILURES_PER_IP {
            throttle.failed_at(&attempt(&format!("user{n}"), [10, 0, 0, 9]), now);
        }
        assert!(throttle.check_at(&attempt("someone", [10, 0, 0, 9]), now).is_err());
        assert!(throttle.check_at(&attempt("someone", [10, 0, 0, 8]), now).is_ok());
    }

    #[test]
    fn a_correct_password_clears_the_users_count() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..FAILURES_PER_USER - 1 {
            throttle.failed_at(&attempt("ann", [10, 0, 0, 1]), now);
        }
        throttle.succeeded(&attempt("ann", [10, 0, 0, 1]));
        throttle.failed_at(&attempt("ann", [10, 0, 0, 1]), now);
        assert!(throttle.check_at(&attempt("ann", [10, 0, 0, 1]), now).is_ok());
    }
}
