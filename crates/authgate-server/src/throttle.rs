//! Sign-in throttling: failures are counted per account (by the email
//! typed, whether or not it exists — so lockout reveals nothing) and per
//! client address. Past a limit the key is locked for a while; the lock
//! expires by itself. Kept in memory per instance.

use authgate_core::clock::UnixTime;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_failures: u32,
    pub window_secs: i64,
    pub lockout_secs: i64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    failures: u32,
    window_start: UnixTime,
    locked_until: UnixTime,
}

pub struct Throttle {
    limits: Limits,
    entries: Mutex<HashMap<String, Entry>>,
}

const MAX_KEYS: usize = 100_000;

impl Throttle {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds until `key` may try again, if it is locked.
    pub fn locked_for(&self, key: &str, now: UnixTime) -> Option<i64> {
        let g = self.entries.lock().ok()?;
        let e = g.get(key)?;
        (e.locked_until > now).then(|| e.locked_until - now)
    }

    /// Records a failure; returns true when this failure locked the key.
    pub fn fail(&self, key: &str, now: UnixTime) -> bool {
        let Ok(mut g) = self.entries.lock() else {
            return false;
        };
        if g.len() >= MAX_KEYS {
            g.retain(|_, e| e.locked_until > now || now - e.window_start < self.limits.window_secs);
        }
        let e = g.entry(key.to_owned()).or_default();
        if now - e.window_start >= self.limits.window_secs {
            e.failures = 0;
            e.window_start = now;
        }
        e.failures += 1;
        if e.failures >= self.limits.max_failures {
            e.locked_until = now + self.limits.lockout_secs;
            e.failures = 0;
            e.window_start = now;
            return true;
        }
        false
    }

    pub fn succeed(&self, key: &str) {
        if let Ok(mut g) = self.entries.lock() {
            g.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_limit_and_expires() {
        let t = Throttle::new(Limits {
            max_failures: 3,
            window_secs: 60,
            lockout_secs: 100,
        });
        assert!(!t.fail("a", 0));
        assert!(!t.fail("a", 1));
        assert!(t.fail("a", 2));
        assert_eq!(t.locked_for("a", 2), Some(100));
        assert_eq!(t.locked_for("a", 101), Some(1));
        assert_eq!(t.locked_for("a", 102), None);
        assert_eq!(t.locked_for("b", 2), None);
        // Failures outside the window do not add up.
        assert!(!t.fail("c", 0));
        assert!(!t.fail("c", 61));
        assert!(!t.fail("c", 62));
    }
}
