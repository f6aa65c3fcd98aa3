//! Per-address token buckets for booking attempts: a burst is allowed, a
//! flood is told when to come back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::ApiError;

pub struct RateLimiter {
    /// Tokens added per second; the bucket holds a minute's worth.
    per_second: f64,
    capacity: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    pub fn per_minute(limit: u32) -> Self {
        let capacity = f64::from(limit.max(1));
        Self {
            per_second: capacity / 60.0,
            capacity,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `address`, or says how long until one is there.
    pub fn check(&self, address: IpAddr) -> Result<(), ApiError> {
        self.check_at(address, Instant::now())
    }

    fn check_at(&self, address: IpAddr, now: Instant) -> Result<(), ApiError> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 10_000 {
            // Full buckets carry no information: forget them.
            let full_after = Duration::from_secs_f64(self.capacity / self.per_second);
            buckets.retain(|_, b| now.duration_since(b.updated) < full_after);
        }
        let bucket = buckets.entry(address).or_insert(Bucket {
            tokens: self.capacity,
            updated: now,
        });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / self.per_second).ceil() as u64;
            Err(ApiError::RateLimited {
                retry_after_seconds: wait.max(1),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_address_waits_while_others_do_not() {
        let limiter = RateLimiter::per_minute(3);
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at(a, start).is_ok());
        }
        match limiter.check_at(a, start) {
            Err(ApiError::RateLimited {
                retry_after_seconds,
            }) => assert_eq!(retry_after_seconds, 20),
            other => panic!("expected a rate limit, got {other:?}"),
        }
        assert!(limiter.check_at(b, start).is_ok());
        assert!(limiter.check_at(a, start + Duration::from_secs(20)).is_ok());
    }
}
