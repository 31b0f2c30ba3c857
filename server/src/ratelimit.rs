//! Per-API-key rate limits: a token bucket per key (sustained rate, burst), in this process's memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<[u8; 32], Bucket>>,
}

impl RateLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one token for `key`; `Err(seconds)` until one is available.
    pub fn check(&self, key: [u8; 32], rate_per_sec: f64, burst: f64) -> Result<(), u64> {
        self.check_at(key, rate_per_sec, burst, Instant::now())
    }

    fn check_at(&self, key: [u8; 32], rate: f64, burst: f64, now: Instant) -> Result<(), u64> {
        let Ok(mut buckets) = self.buckets.lock() else {
            // A poisoned lock means a panic elsewhere; do not turn it into a denial of service.
            return Ok(());
        };
        let b = buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill_per_key() {
        let rl = RateLimiter::new();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(rl.check_at([1; 32], 1.0, 3.0, t0).is_ok());
        }
        assert_eq!(rl.check_at([1; 32], 1.0, 3.0, t0), Err(1));
        // Another key has its own bucket.
        assert!(rl.check_at([2; 32], 1.0, 3.0, t0).is_ok());
        // One second later, one more token.
        let t1 = t0 + Duration::from_millis(1000);
        assert!(rl.check_at([1; 32], 1.0, 3.0, t1).is_ok());
        assert!(rl.check_at([1; 32], 1.0, 3.0, t1).is_err());
    }
}
