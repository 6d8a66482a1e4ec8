//! The `RateLimiter` contract, run against every adapter: in-memory, Redis and a Redis
//! Cluster.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::sync::Arc;
use std::time::Duration;

use gatehouse_application::ports::{RateLimit, RateLimiter, RateStatus};
use gatehouse_infrastructure::redis as redis_adapter;
use gatehouse_infrastructure::redis::RedisRateLimiter;
use gatehouse_memory::InMemoryRateLimiter;
use uuid::Uuid;

type Limiter = Arc<dyn RateLimiter>;

fn key() -> String {
    format!("test:{}", Uuid::new_v4())
}

const THREE_PER_MINUTE: RateLimit = RateLimit {
    limit: 3,
    window: Duration::from_secs(60),
};

fn is_limited(status: RateStatus, window: Duration) -> bool {
    matches!(status, RateStatus::Limited { retry_after } if retry_after > Duration::ZERO && retry_after <= window)
}

async fn hits_within_the_limit_pass_and_the_next_is_limited(limiter: Limiter) {
    let key = key();
    for _ in 0..3 {
        assert_eq!(
            limiter.hit(&key, THREE_PER_MINUTE).await.unwrap(),
            RateStatus::Allowed
        );
    }
    let status = limiter.hit(&key, THREE_PER_MINUTE).await.unwrap();
    assert!(is_limited(status, THREE_PER_MINUTE.window), "{status:?}");
}

async fn reservations_stop_at_the_limit_and_refused_ones_count_nothing(limiter: Limiter) {
    let key = key();
    for _ in 0..3 {
        assert_eq!(
            limiter.reserve(&key, THREE_PER_MINUTE).await.unwrap(),
            RateStatus::Allowed
        );
    }
    for _ in 0..5 {
        let status = limiter.reserve(&key, THREE_PER_MINUTE).await.unwrap();
        assert!(is_limited(status, THREE_PER_MINUTE.window), "{status:?}");
    }
    // The refusals took nothing: one given back makes exactly one place.
    limiter.release(&key).await.unwrap();
    assert_eq!(
        limiter.reserve(&key, THREE_PER_MINUTE).await.unwrap(),
        RateStatus::Allowed
    );
    assert!(matches!(
        limiter.reserve(&key, THREE_PER_MINUTE).await.unwrap(),
        RateStatus::Limited { .. }
    ));
}

async fn releases_never_go_below_zero(limiter: Limiter) {
    let key = key();
    limiter.reserve(&key, THREE_PER_MINUTE).await.unwrap();
    for _ in 0..5 {
        limiter.release(&key).await.unwrap();
    }
    limiter.release("never-counted").await.unwrap();
    for _ in 0..3 {
        assert_eq!(
            limiter.reserve(&key, THREE_PER_MINUTE).await.unwrap(),
            RateStatus::Allowed
        );
    }
    assert!(matches!(
        limiter.reserve(&key, THREE_PER_MINUTE).await.unwrap(),
        RateStatus::Limited { .. }
    ));
}

/// How many of `n` concurrent calls (`hit` or `reserve`) on one key were allowed.
async fn allowed_of_a_burst(limiter: &Limiter, n: usize, reserve: bool) -> usize {
    let key = key();
    let limit = RateLimit {
        limit: 10,
        window: Duration::from_secs(60),
    };
    let calls: Vec<_> = (0..n)
        .map(|_| {
            let (limiter, key) = (limiter.clone(), key.clone());
            tokio::spawn(async move {
                if reserve {
                    limiter.reserve(&key, limit).await.unwrap()
                } else {
                    limiter.hit(&key, limit).await.unwrap()
                }
            })
        })
        .collect();
    let mut allowed = 0;
    for call in calls {
        if call.await.unwrap() == RateStatus::Allowed {
            allowed += 1;
        }
    }
    allowed
}

/// The property a login throttle needs: a hundred reservations at once, exactly `limit`
/// taken, wherever they come from.
async fn a_burst_of_reservations_takes_exactly_the_limit(limiter: Limiter) {
    assert_eq!(allowed_of_a_burst(&limiter, 100, true).await, 10);
}

async fn a_cleared_key_starts_over(limiter: Limiter) {
    let (key, other) = (key(), key());
    for _ in 0..4 {
        limiter.hit(&key, THREE_PER_MINUTE).await.unwrap();
        limiter.hit(&other, THREE_PER_MINUTE).await.unwrap();
    }
    limiter.clear(&key).await.unwrap();
    assert_eq!(
        limiter.reserve(&key, THREE_PER_MINUTE).await.unwrap(),
        RateStatus::Allowed
    );
    assert_eq!(
        limiter.hit(&key, THREE_PER_MINUTE).await.unwrap(),
        RateStatus::Allowed
    );
    assert!(matches!(
        limiter.reserve(&other, THREE_PER_MINUTE).await.unwrap(),
        RateStatus::Limited { .. }
    ));
    limiter.clear("never-counted").await.unwrap();
}

async fn keys_are_independent(limiter: Limiter) {
    let (a, b) = (key(), key());
    for _ in 0..4 {
        limiter.hit(&a, THREE_PER_MINUTE).await.unwrap();
    }
    assert_eq!(
        limiter.hit(&b, THREE_PER_MINUTE).await.unwrap(),
        RateStatus::Allowed
    );
}

async fn the_window_ends_and_counting_starts_over(limiter: Limiter) {
    let limit = RateLimit {
        limit: 1,
        window: Duration::from_millis(800),
    };
    let key = key();
    assert_eq!(limiter.hit(&key, limit).await.unwrap(), RateStatus::Allowed);
    assert!(is_limited(
        limiter.hit(&key, limit).await.unwrap(),
        limit.window
    ));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        limiter.reserve(&key, limit).await.unwrap(),
        RateStatus::Allowed
    );
    let reserved = limiter.reserve(&key, limit).await.unwrap();
    assert!(is_limited(reserved, limit.window), "{reserved:?}");
}

async fn concurrent_hits_are_each_counted(limiter: Limiter) {
    assert_eq!(allowed_of_a_burst(&limiter, 40, false).await, 10);
}

async fn redis_limiter() -> Option<(Limiter, String, String)> {
    limiter_on(gatehouse_testing::redis().await?).await
}

async fn cluster_limiter() -> Option<Limiter> {
    let (limiter, _, _) = limiter_on(gatehouse_testing::redis_cluster().await?).await?;
    Some(limiter)
}

async fn limiter_on(redis: gatehouse_testing::TestRedis) -> Option<(Limiter, String, String)> {
    let pool = redis_adapter::connect(&redis.url, 4)
        .await
        .expect("cannot reach the test Redis");
    Some((
        Arc::new(RedisRateLimiter::new(pool, redis.prefix.clone())),
        redis.url,
        redis.prefix,
    ))
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod in_memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                super::$case(std::sync::Arc::new(super::InMemoryRateLimiter::new())).await;
            })*
        }
        mod on_redis {
            $(#[cfg_attr(gatehouse_no_redis, ignore = "needs Redis: start it on 127.0.0.1:6379 or set GATEHOUSE_TEST_REDIS_URL")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some((limiter, _, _)) = super::redis_limiter().await else { return };
                super::$case(limiter).await;
            })*
        }
        mod on_redis_cluster {
            $(#[cfg_attr(gatehouse_no_redis_cluster, ignore = "needs a Redis Cluster: scripts/redis-cluster.sh start, or set GATEHOUSE_TEST_REDIS_CLUSTER_URL")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some(store) = super::cluster_limiter().await else { return };
                super::$case(store).await;
            })*
        }
    };
}

contract!(
    hits_within_the_limit_pass_and_the_next_is_limited,
    reservations_stop_at_the_limit_and_refused_ones_count_nothing,
    releases_never_go_below_zero,
    a_burst_of_reservations_takes_exactly_the_limit,
    a_cleared_key_starts_over,
    keys_are_independent,
    the_window_ends_and_counting_starts_over,
    concurrent_hits_are_each_counted,
);

/// Two limiters on one Redis (two instances of the service) share their counts.
#[cfg_attr(
    gatehouse_no_redis,
    ignore = "needs Redis: start it on 127.0.0.1:6379 or set GATEHOUSE_TEST_REDIS_URL"
)]
#[tokio::test]
async fn redis_limits_hold_across_instances() {
    let Some((first, url, prefix)) = redis_limiter().await else {
        return;
    };
    let pool = redis_adapter::connect(&url, 1).await.unwrap();
    let second: Limiter = Arc::new(RedisRateLimiter::new(pool, prefix));
    let key = key();
    for limiter in [&first, &second, &first] {
        assert_eq!(
            limiter.hit(&key, THREE_PER_MINUTE).await.unwrap(),
            RateStatus::Allowed
        );
    }
    assert!(is_limited(
        second.hit(&key, THREE_PER_MINUTE).await.unwrap(),
        THREE_PER_MINUTE.window
    ));
}
