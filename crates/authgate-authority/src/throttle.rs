//! Sign-in throttling. Accounts are named by the email typed, whether or
//! not it exists (so throttling reveals nothing); addresses by the one
//! client-address rule ([`AddressKey`]: IPv4 address, IPv6 /64). Three
//! counters, so that an attacker can neither guess freely nor lock a person
//! out of their own account:
//!
//! - per address (any accounts): past `per_address` failures the address is
//!   locked out — one source spraying many accounts stops;
//! - per account *and* address: past `per_account_address` failures that
//!   pair is locked out — guessing one account from one place stops, while
//!   the real person, signing in from their own address, is not affected;
//! - per account (all addresses): past [`SLOWDOWN_AFTER`] times the pair
//!   limit, each further attempt must wait an exponentially growing delay
//!   (capped at [`MAX_DELAY_SECS`]) after the last failure — a botnet
//!   guessing one account from many addresses is bounded to about one guess
//!   a minute, and the person is only made to wait, never locked out.
//!
//! Every lock and delay expires by itself. Kept in memory per instance.

use crate::net::AddressKey;
use authgate_core::clock::UnixTime;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// The account-wide slow-down starts after this many times the per
/// account-and-address limit of failures, from all addresses together.
pub const SLOWDOWN_AFTER: u32 = 4;
/// The longest account-wide delay between attempts.
pub const MAX_DELAY_SECS: i64 = 60;
/// Keys kept per counter before expired ones are dropped.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failures for one account from one address before that pair locks.
    pub per_account_address: u32,
    /// Failures from one address (any accounts) before it locks.
    pub per_address: u32,
    /// Length of the failure window and of a lockout, in seconds.
    pub lockout_secs: i64,
}

/// Why an attempt is refused before the password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This address, or this account from this address, is locked out.
    Locked { secs: i64 },
    /// The account has seen many failures from many places: wait a little.
    SlowedDown { secs: i64 },
}

impl Refusal {
    pub fn secs(&self) -> i64 {
        match *self {
            Refusal::Locked { secs } | Refusal::SlowedDown { secs } => secs,
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    failures: u32,
    window_start: UnixTime,
    locked_until: UnixTime,
}

/// Failure counters with a lockout, one per key.
struct Lockouts<K> {
    max_failures: u32,
    window_secs: i64,
    lockout_secs: i64,
    entries: Mutex<HashMap<K, Entry>>,
}

impl<K: Hash + Eq> Lockouts<K> {
    fn new(max_failures: u32, window_secs: i64, lockout_secs: i64) -> Self {
        Self {
            max_failures,
            window_secs,
            lockout_secs,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn locked_for(&self, key: &K, now: UnixTime) -> Option<i64> {
        let g = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let e = g.get(key)?;
        (e.locked_until > now).then(|| e.locked_until - now)
    }

    /// Records a failure; true when this failure locked the key.
    fn fail(&self, key: K, now: UnixTime) -> bool {
        let mut g = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if g.len() >= MAX_KEYS {
            let window = self.window_secs;
            g.retain(|_, e| e.locked_until > now || now - e.window_start < window);
        }
        let e = g.entry(key).or_default();
        if now - e.window_start >= self.window_secs {
            e.failures = 0;
            e.window_start = now;
        }
        e.failures += 1;
        if e.failures >= self.max_failures {
            e.locked_until = now + self.lockout_secs;
            e.failures = 0;
            e.window_start = now;
            return true;
        }
        false
    }

    fn clear(&self, key: &K) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

/// Account-wide failures: a count that decays after a quiet window.
#[derive(Debug, Clone, Copy, Default)]
struct Slow {
    failures: u32,
    last_failure: UnixTime,
}

pub struct SignInThrottle {
    limits: Limits,
    by_address: Lockouts<AddressKey>,
    by_account_address: Lockouts<(String, AddressKey)>,
    by_account: Mutex<HashMap<String, Slow>>,
}

impl SignInThrottle {
    pub fn new(limits: Limits) -> Self {
        let l = limits;
        Self {
            limits,
            by_address: Lockouts::new(l.per_address, l.lockout_secs, l.lockout_secs),
            by_account_address: Lockouts::new(
                l.per_account_address,
                l.lockout_secs,
                l.lockout_secs,
            ),
            by_account: Mutex::new(HashMap::new()),
        }
    }

    fn slowdown_after(&self) -> u32 {
        self.limits
            .per_account_address
            .saturating_mul(SLOWDOWN_AFTER)
    }

    /// The account-wide delay after `failures` failures.
    fn delay(&self, failures: u32) -> i64 {
        if failures < self.slowdown_after() {
            return 0;
        }
        let over = failures - self.slowdown_after();
        (1i64 << over.min(6)).min(MAX_DELAY_SECS)
    }

    /// Whether `account` may try from `address` now.
    pub fn check(&self, account: &str, address: AddressKey, now: UnixTime) -> Result<(), Refusal> {
        let locked = self.by_address.locked_for(&address, now).or_else(|| {
            self.by_account_address
                .locked_for(&(account.to_owned(), address), now)
        });
        if let Some(secs) = locked {
            return Err(Refusal::Locked { secs });
        }
        let g = self.by_account.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = g.get(account) {
            let ready = s.last_failure + self.delay(s.failures);
            if ready > now {
                return Err(Refusal::SlowedDown { secs: ready - now });
            }
        }
        Ok(())
    }

    /// Records a failed attempt; true when it locked the address or the
    /// account from this address.
    pub fn fail(&self, account: &str, address: AddressKey, now: UnixTime) -> bool {
        let a = self.by_address.fail(address, now);
        let b = self
            .by_account_address
            .fail((account.to_owned(), address), now);
        let mut g = self.by_account.lock().unwrap_or_else(|p| p.into_inner());
        let window = self.limits.lockout_secs;
        if g.len() >= MAX_KEYS {
            g.retain(|_, s| now - s.last_failure < window);
        }
        let s = g.entry(account.to_owned()).or_default();
        if now - s.last_failure >= window {
            s.failures = 0;
        }
        s.failures = s.failures.saturating_add(1);
        s.last_failure = now;
        a || b
    }

    /// A successful sign-in forgets this pair's failures only: the
    /// address's count stays (it may be spraying other accounts and own one
    /// of them), and so does the account-wide count (it decays by itself;
    /// the person is at most slowed down by it).
    pub fn succeed(&self, account: &str, address: AddressKey) {
        self.by_account_address
            .clear(&(account.to_owned(), address));
    }
}

/// Requests that send mail (password reset links): every request counts,
/// per address typed (whether or not it has an account, so the limit
/// tells nothing) and per client address, within a window; past either
/// limit requests are refused until the window ends. Kept in memory per
/// instance, like [`SignInThrottle`].
pub struct RequestThrottle {
    by_email: Lockouts<String>,
    by_address: Lockouts<AddressKey>,
}

impl RequestThrottle {
    pub fn new(per_email: u32, per_address: u32, window_secs: i64) -> Self {
        Self {
            by_email: Lockouts::new(per_email, window_secs, window_secs),
            by_address: Lockouts::new(per_address, window_secs, window_secs),
        }
    }

    /// Counts a request; `false` when it is over a limit (not to be served).
    pub fn allow(&self, email: &str, address: AddressKey, now: UnixTime) -> bool {
        let email = email.to_lowercase();
        if self.by_email.locked_for(&email, now).is_some()
            || self.by_address.locked_for(&address, now).is_some()
        {
            return false;
        }
        self.by_email.fail(email, now);
        self.by_address.fail(address, now);
        true
    }
}

/// Password reset requests per address typed in [`RESET_WINDOW_SECS`].
pub const RESETS_PER_EMAIL: u32 = 3;
/// Password reset requests per client address in [`RESET_WINDOW_SECS`].
pub const RESETS_PER_ADDRESS: u32 = 20;
pub const RESET_WINDOW_SECS: i64 = 900;
/// Sign-up requests per address typed in [`RESET_WINDOW_SECS`].
pub const SIGNUPS_PER_EMAIL: u32 = 3;
/// Sign-up requests per client address in [`RESET_WINDOW_SECS`].
pub const SIGNUPS_PER_ADDRESS: u32 = 10;

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> AddressKey {
        AddressKey::of(s.parse().unwrap())
    }

    fn throttle() -> SignInThrottle {
        SignInThrottle::new(Limits {
            per_account_address: 3,
            per_address: 10,
            lockout_secs: 100,
        })
    }

    #[test]
    fn pair_locks_after_limit_and_expires() {
        let t = throttle();
        let a = key("10.0.0.1");
        assert!(!t.fail("alice", a, 0));
        assert!(!t.fail("alice", a, 1));
        assert!(t.fail("alice", a, 2));
        assert_eq!(t.check("alice", a, 2), Err(Refusal::Locked { secs: 100 }));
        assert_eq!(t.check("alice", a, 101), Err(Refusal::Locked { secs: 1 }));
        assert_eq!(t.check("alice", a, 102), Ok(()));
        // Another account from the same address, and the same account from
        // another address, are not locked.
        assert_eq!(t.check("bob", a, 2), Ok(()));
        assert_eq!(t.check("alice", key("10.0.0.2"), 2), Ok(()));
        // Failures outside the window do not add up.
        let c = key("10.0.0.3");
        assert!(!t.fail("carol", c, 0));
        assert!(!t.fail("carol", c, 101));
        assert!(!t.fail("carol", c, 102));
    }

    #[test]
    fn spraying_from_one_address_locks_the_address() {
        let t = throttle();
        let a = key("2001:db8::1");
        for i in 0..9 {
            assert!(!t.fail(&format!("user{i}"), a, 5));
        }
        assert!(t.fail("user9", a, 5));
        // The whole /64 is one address.
        assert!(matches!(
            t.check("someone-else", key("2001:db8::ffff"), 6),
            Err(Refusal::Locked { .. })
        ));
        assert_eq!(t.check("someone-else", key("2001:db8:0:1::1"), 6), Ok(()));
    }

    #[test]
    fn many_addresses_slow_an_account_down_without_locking_it() {
        let t = throttle();
        // 12 = 4 x 3 failures from 12 addresses: no pair or address locks.
        for i in 0..12 {
            assert!(!t.fail("alice", key(&format!("10.0.1.{i}")), 50));
        }
        let home = key("192.0.2.7");
        assert_eq!(
            t.check("alice", home, 50),
            Err(Refusal::SlowedDown { secs: 1 })
        );
        assert_eq!(t.check("alice", home, 51), Ok(()));
        t.fail("alice", key("10.0.2.1"), 51);
        assert_eq!(
            t.check("alice", home, 51),
            Err(Refusal::SlowedDown { secs: 2 })
        );
        for i in 0..20 {
            t.fail("alice", key(&format!("10.0.3.{i}")), 60);
        }
        // The delay is capped, and expires.
        assert_eq!(
            t.check("alice", home, 60),
            Err(Refusal::SlowedDown {
                secs: MAX_DELAY_SECS
            })
        );
        assert_eq!(t.check("alice", home, 60 + MAX_DELAY_SECS), Ok(()));
        // Other accounts are not slowed.
        assert_eq!(t.check("bob", home, 60), Ok(()));
        // After a quiet window the count starts again.
        t.fail("alice", key("10.0.4.1"), 500);
        assert_eq!(t.check("alice", home, 500), Ok(()));
    }

    #[test]
    fn success_clears_the_pair() {
        let t = throttle();
        let a = key("10.0.0.1");
        t.fail("alice", a, 0);
        t.fail("alice", a, 0);
        t.succeed("alice", a);
        assert!(!t.fail("alice", a, 0));
        assert!(!t.fail("alice", a, 0));
        assert!(t.fail("alice", a, 0));
    }

    #[test]
    fn requests_are_limited_per_email_and_per_address() {
        let t = RequestThrottle::new(2, 3, 100);
        let (a, b) = (key("192.0.2.1"), key("192.0.2.2"));
        assert!(t.allow("ann@example.com", a, 0));
        assert!(t.allow("ANN@example.com", b, 1));
        assert!(!t.allow("ann@example.com", b, 2), "third for one email");
        assert!(t.allow("bob@example.com", a, 3));
        assert!(t.allow("cy@example.com", a, 4), "third from one address");
        assert!(!t.allow("dan@example.com", a, 5), "fourth from one address");
        assert!(t.allow("ann@example.com", b, 200), "the window ended");
    }
}
