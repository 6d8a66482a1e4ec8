use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use fred::interfaces::KeysInterface;
use fred::prelude::Pool;
use fred::types::scripts::Script;
use gatehouse_application::ports::{RateLimit, RateLimiter, RateStatus};

/// Count and read the window in one atomic step. KEYS: counter. ARGV: window (ms).
const HIT: &str = r#"
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"#;

/// Count only while below the limit, in one atomic step: of N concurrent reservations at
/// most `limit` are taken. KEYS: counter. ARGV: window (ms), limit. Returns 1 when taken
/// (0 when refused) and the window's time left.
const RESERVE: &str = r#"
local taken = 0
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[2]) then
  redis.call('INCR', KEYS[1])
  taken = 1
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {taken, ttl}
"#;

/// Give one back, never below zero; DECR keeps the key's expiry. KEYS: counter.
const RELEASE: &str = r#"
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then
  count = redis.call('DECR', KEYS[1])
end
return {count, 0}
"#;

/// [`RateLimiter`] on Redis: one counter per key, shared by every instance.
pub struct RedisRateLimiter {
    pool: Pool,
    prefix: String,
    hit: Script,
    reserve: Script,
    release: Script,
}

impl RedisRateLimiter {
    /// A limiter on `pool` whose keys all start with `prefix`.
    pub fn new(pool: Pool, prefix: impl Into<String>) -> Self {
        Self {
            pool,
            prefix: prefix.into(),
            hit: Script::from_lua(HIT),
            reserve: Script::from_lua(RESERVE),
            release: Script::from_lua(RELEASE),
        }
    }

    async fn run(
        &self,
        script: &Script,
        key: &str,
        args: Vec<String>,
    ) -> anyhow::Result<(u64, Duration)> {
        let key = format!("{}rl:{key}", self.prefix);
        let (count, ttl): (i64, i64) = script
            .evalsha_with_reload(self.pool.next(), vec![key], args)
            .await
            .context("Redis rate limit script failed")?;
        Ok((
            count.max(0) as u64,
            Duration::from_millis(ttl.max(0) as u64),
        ))
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(&self, key: &str, limit: RateLimit) -> anyhow::Result<RateStatus> {
        let window = limit.window.as_millis().max(1).to_string();
        let (count, remaining) = self.run(&self.hit, key, vec![window]).await?;
        Ok(RateStatus::after_hit(count, remaining, limit))
    }

    async fn reserve(&self, key: &str, limit: RateLimit) -> anyhow::Result<RateStatus> {
        let window = limit.window.as_millis().max(1).to_string();
        let args = vec![window, limit.limit.to_string()];
        let (taken, remaining) = self.run(&self.reserve, key, args).await?;
        Ok(if taken == 1 {
            RateStatus::Allowed
        } else {
            RateStatus::Limited {
                retry_after: remaining,
            }
        })
    }

    async fn release(&self, key: &str) -> anyhow::Result<()> {
        self.run(&self.release, key, vec![]).await.map(drop)
    }

    async fn clear(&self, key: &str) -> anyhow::Result<()> {
        let key = format!("{}rl:{key}", self.prefix);
        let _: i64 = self
            .pool
            .next()
            .del(key)
            .await
            .context("Redis rate limit clear failed")?;
        Ok(())
    }
}
