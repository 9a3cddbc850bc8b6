//! Rate measurement shared by the micro-benchmarks that `bench/run` reports
//! (authgate-core's `signing`, authgate-resource's `validation`, which
//! includes this file by path).

use std::time::{Duration, Instant};

/// Calls per second of `f` over about `budget`.
#[allow(dead_code)] // not every benchmark uses both helpers
pub fn rate(budget: Duration, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < budget {
        for _ in 0..64 {
            f();
        }
        n += 64;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Rates of `a` and `b` measured in alternating batches, so a machine
/// whose load changes (other builds on the same cores) slows both alike;
/// the ratio `b / a` (b's rate over a's) is the median of the per-round
/// ratios.
pub fn interleaved(
    rounds: usize,
    batch: u32,
    mut a: impl FnMut(),
    mut b: impl FnMut(),
) -> (f64, f64, f64) {
    let (mut ta, mut tb) = (Duration::ZERO, Duration::ZERO);
    let mut ratios = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..batch {
            a();
        }
        let da = t.elapsed();
        let t = Instant::now();
        for _ in 0..batch {
            b();
        }
        let db = t.elapsed();
        ta += da;
        tb += db;
        ratios.push(da.as_secs_f64() / db.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    let n = f64::from(batch) * rounds as f64;
    (
        n / ta.as_secs_f64(),
        n / tb.as_secs_f64(),
        ratios[rounds / 2],
    )
}
