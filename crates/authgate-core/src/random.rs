//! Randomness is passed in (tests may use a seeded source).

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

pub trait Random: Send + Sync + 'static {
    fn fill(&self, dest: &mut [u8]);
}

/// The operating system's CSPRNG through aws-lc.
#[derive(Debug, Default, Clone)]
pub struct OsRandom(SystemRandom);

impl OsRandom {
    pub fn new() -> Self {
        Self(SystemRandom::new())
    }
}

impl Random for OsRandom {
    fn fill(&self, dest: &mut [u8]) {
        // SystemRandom only fails when the OS has no entropy source at all;
        // there is nothing sensible to issue then.
        self.0
            .fill(dest)
            .expect("operating system random number generator failed");
    }
}
