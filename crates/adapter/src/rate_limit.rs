//! Per-visitor token buckets for booking attempts: a burst is allowed, a
//! flood is told when to come back.
//!
//! Memory is bounded whatever the visitors do: an IPv6 visitor is counted by
//! its /64 (one subscriber's whole network, which a visitor can fill with
//! addresses at will), buckets that have filled up again are dropped (a full
//! bucket is what a new visitor gets anyway), and the map never holds more
//! than [`MAX_VISITORS`] buckets. When it is full of visitors seen within the
//! last minute, every further visitor shares one overflow bucket until room
//! frees up: a flood from very many addresses is then held to one more
//! visitor's limit, while the visitors already counted keep their own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::client_address::masked;
use crate::error::ApiError;

/// The most visitors counted one by one (some 64 bytes each).
const MAX_VISITORS: usize = 10_000;

/// How often, at most, the whole map is searched for full buckets.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

pub struct RateLimiter {
    /// Tokens added per second; the bucket holds a minute's worth.
    per_second: f64,
    capacity: f64,
    max_visitors: usize,
    state: Mutex<Buckets>,
}

struct Buckets {
    by_visitor: HashMap<IpAddr, Bucket>,
    /// Shared by the visitors that found the map full.
    overflow: Bucket,
    last_sweep: Option<Instant>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// What a visitor is counted by: an IPv4 address, or an IPv6 address's /64.
fn visitor_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        v4 @ IpAddr::V4(_) => v4,
        v6 @ IpAddr::V6(_) => masked(v6, 64),
    }
}

impl RateLimiter {
    pub fn per_minute(limit: u32) -> Self {
        Self::with_room(limit, MAX_VISITORS)
    }

    fn with_room(limit: u32, max_visitors: usize) -> Self {
        let capacity = f64::from(limit.max(1));
        Self {
            per_second: capacity / 60.0,
            capacity,
            max_visitors,
            state: Mutex::new(Buckets {
                by_visitor: HashMap::new(),
                overflow: Bucket {
                    tokens: capacity,
                    updated: Instant::now(),
                },
                last_sweep: None,
            }),
        }
    }

    /// Takes one token for the visitor at `address`, or says how long until one is there.
    pub fn check(&self, address: IpAddr) -> Result<(), ApiError> {
        self.check_at(address, Instant::now())
    }

    fn check_at(&self, address: IpAddr, now: Instant) -> Result<(), ApiError> {
        let key = visitor_key(address);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Buckets {
            by_visitor,
            overflow,
            last_sweep,
        } = &mut *state;
        if !by_visitor.contains_key(&key) && by_visitor.len() >= self.max_visitors {
            let swept_lately =
                last_sweep.is_some_and(|at| now.saturating_duration_since(at) < SWEEP_EVERY);
            if !swept_lately {
                *last_sweep = Some(now);
                by_visitor.retain(|_, bucket| !self.is_full(bucket, now));
            }
        }
        let bucket = if by_visitor.len() < self.max_visitors || by_visitor.contains_key(&key) {
            by_visitor.entry(key).or_insert(Bucket {
                tokens: self.capacity,
                updated: now,
            })
        } else {
            overflow
        };
        self.take(bucket, now)
    }

    /// Whether `bucket` has filled up again since it was last used.
    fn is_full(&self, bucket: &Bucket, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens + elapsed * self.per_second >= self.capacity
    }

    fn take(&self, bucket: &mut Bucket, now: Instant) -> Result<(), ApiError> {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
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

    #[cfg(test)]
    fn counted(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .by_visitor
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn waits(result: Result<(), ApiError>) -> u64 {
        match result {
            Err(ApiError::RateLimited {
                retry_after_seconds,
            }) => retry_after_seconds,
            other => panic!("expected a rate limit, got {other:?}"),
        }
    }

    #[test]
    fn a_burst_passes_then_the_address_waits_while_others_do_not() {
        let limiter = RateLimiter::per_minute(3);
        let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at(a, start).is_ok());
        }
        assert_eq!(waits(limiter.check_at(a, start)), 20);
        assert!(limiter.check_at(b, start).is_ok());
        assert!(limiter.check_at(a, start + Duration::from_secs(20)).is_ok());
    }

    #[test]
    fn ipv6_visitors_are_counted_by_their_64() {
        let limiter = RateLimiter::per_minute(2);
        let now = Instant::now();
        assert!(limiter.check_at(ip("2001:db8:1:2::1"), now).is_ok());
        assert!(limiter
            .check_at(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"), now)
            .is_ok());
        // A third address in the same /64 is the same visitor, out of tokens.
        waits(limiter.check_at(ip("2001:db8:1:2:abcd::9"), now));
        // The next /64 is someone else.
        assert!(limiter.check_at(ip("2001:db8:1:3::1"), now).is_ok());
        // An IPv4-mapped address is its IPv4 visitor.
        assert!(limiter.check_at(ip("192.0.2.7"), now).is_ok());
        assert!(limiter.check_at(ip("::ffff:192.0.2.7"), now).is_ok());
        waits(limiter.check_at(ip("192.0.2.7"), now));
        assert_eq!(limiter.counted(), 3);
    }

    #[test]
    fn many_addresses_never_grow_the_map_past_its_cap() {
        let limiter = RateLimiter::with_room(2, 100);
        let now = Instant::now();
        // A flood from 10,000 /64s within one second.
        for i in 0..10_000u32 {
            let address = IpAddr::from(std::net::Ipv6Addr::from(
                0x2001_0db8_0000_0000_0000_0000_0000_0000u128 | (u128::from(i) << 64),
            ));
            let _ = limiter.check_at(address, now);
        }
        assert_eq!(limiter.counted(), 100);
        // The visitors counted before the map filled keep their own bucket...
        let first = IpAddr::from(std::net::Ipv6Addr::from(
            0x2001_0db8_0000_0000_0000_0000_0000_0000u128,
        ));
        assert!(limiter.check_at(first, now).is_ok());
        // ...and everyone after shares one, long since empty.
        waits(limiter.check_at(ip("203.0.113.50"), now));
    }

    #[test]
    fn buckets_that_filled_up_again_make_room_for_new_visitors() {
        let limiter = RateLimiter::with_room(2, 100);
        let start = Instant::now();
        for i in 0..100u32 {
            assert!(limiter
                .check_at(
                    IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i)),
                    start
                )
                .is_ok());
        }
        // The map is full of visitors seen just now: a newcomer gets the overflow bucket.
        let newcomer = ip("203.0.113.50");
        assert!(limiter.check_at(newcomer, start).is_ok());
        assert!(limiter.check_at(newcomer, start).is_ok());
        waits(limiter.check_at(newcomer, start));
        assert_eq!(limiter.counted(), 100);
        // A minute on, the early buckets are full again: they are dropped, and a
        // new visitor gets its own bucket.
        let later = start + Duration::from_secs(60);
        assert!(limiter.check_at(ip("198.51.100.1"), later).is_ok());
        assert_eq!(limiter.counted(), 1);
        assert!(limiter.check_at(ip("198.51.100.1"), later).is_ok());
        waits(limiter.check_at(ip("198.51.100.1"), later));
    }
}
