//! The per-process state of dynamic registration ([`RegistrationGuard`]):
//! the rate limiter, the initial access token hashes, the live-client
//! count.

use super::limits::{RateLimiter, RegistrationConfig, initial_token_hashes};

/// Per-process registration state (rate limiter, initial token hashes,
/// the count of live dynamic clients).
pub struct RegistrationGuard {
    pub limiter: RateLimiter,
    pub initial_tokens: Vec<String>,
    pub live: LiveCount,
}

/// How long a counted number of live dynamic clients is trusted.
const LIVE_COUNT_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// The number of live dynamic clients, counted in the store at most every
/// [`LIVE_COUNT_TTL`] and incremented here on each registration in between
/// (counting is a scan of the dynamic clients: too slow for every
/// registration). Between counts it can only over-estimate in this process
/// (reaping and deletions lower the real number), and at the cap it counts
/// again before refusing, so the cap refuses only when the store agrees.
/// Other processes sharing the store are seen at the next count.
#[derive(Default)]
pub struct LiveCount(std::sync::Mutex<Option<(i64, std::time::Instant)>>);

impl LiveCount {
    /// The cached count if it is fresh.
    pub fn fresh(&self) -> Option<i64> {
        let g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        g.filter(|(_, at)| at.elapsed() < LIVE_COUNT_TTL)
            .map(|(n, _)| n)
    }
    pub fn set(&self, n: i64) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((n, std::time::Instant::now()));
    }
    pub fn add_one(&self) {
        if let Some((n, _)) = self.0.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            *n += 1;
        }
    }
}

impl RegistrationGuard {
    pub fn new(c: &RegistrationConfig) -> Self {
        Self {
            limiter: RateLimiter::new(c.rate_limit_per_minute, c.rate_limit_burst),
            initial_tokens: initial_token_hashes(c),
            live: LiveCount::default(),
        }
    }
}
