//! The Redis rate limiter: fixed windows that start at the first counted event.

mod redis_limiter;

pub use redis_limiter::RedisRateLimiter;

use std::time::Duration;

use gatehouse_application::ports::{RateLimit, RateStatus};

/// A counted event is allowed while the count stays within the limit.
fn after_hit(count: u64, remaining: Duration, limit: RateLimit) -> RateStatus {
    if count > u64::from(limit.limit) {
        RateStatus::Limited {
            retry_after: remaining,
        }
    } else {
        RateStatus::Allowed
    }
}
