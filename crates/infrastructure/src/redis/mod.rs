//! Redis (fred): the shared connection pool, its health probe, and the adapters whose state
//! every instance shares through it.

mod challenge_store;
mod rate_limiter;
mod session_store;
mod token_store;

pub use challenge_store::RedisChallengeStore;
pub use rate_limiter::RedisRateLimiter;
pub use session_store::RedisSessionStore;
pub use token_store::RedisTokenStore;

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use fred::prelude::{Builder, ClientLike, Config, Pool, ReconnectPolicy};
use gatehouse_application::ports::HealthProbe;

/// A Lua function for scripts that keep a set of keys (a user's refresh families or
/// sessions): `extend(key, ms)` sets the key's expiry to the instant `ms` unless it already
/// lasts longer. A set must outlive every member, or a revocation that starts from the set
/// would miss the members still live; so one member's expiry never shortens it, and a set
/// just created (no expiry yet) gets one.
pub(crate) const EXTEND_EXPIRY: &str = r#"
local function extend(key, until_ms)
  local ttl = redis.call('PTTL', key)
  if ttl >= 0 then
    local clock = redis.call('TIME')
    local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
    if now + ttl >= tonumber(until_ms) then
      return
    end
  end
  redis.call('PEXPIREAT', key, until_ms)
end
"#;

/// How long any Redis command may take before it fails. Requests that depend on Redis fail
/// closed (503) after this, instead of hanging while Redis is away.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// Connects a pool of `size` connections to `url` (`redis://` or `rediss://`). Fails if Redis
/// cannot be reached now; once connected, the pool reconnects by itself for ever.
pub async fn connect(url: &str, size: usize) -> anyhow::Result<Pool> {
    let config = Config::from_url(url).context("invalid Redis URL")?;
    let pool = Builder::from_config(config)
        .with_connection_config(|c| {
            c.connection_timeout = COMMAND_TIMEOUT;
            c.internal_command_timeout = COMMAND_TIMEOUT;
        })
        .with_performance_config(|c| c.default_command_timeout = COMMAND_TIMEOUT)
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
        .build_pool(size.max(1))
        .context("cannot build the Redis pool")?;
    pool.init().await.context("cannot connect to Redis")?;
    Ok(pool)
}

/// `/health` probe for Redis, reported as `cache`.
pub struct RedisProbe(Pool);

impl RedisProbe {
    /// A probe on this pool.
    pub fn new(pool: Pool) -> Self {
        Self(pool)
    }
}

#[async_trait]
impl HealthProbe for RedisProbe {
    fn name(&self) -> &'static str {
        "cache"
    }

    async fn check(&self) -> anyhow::Result<()> {
        let _: String = self
            .0
            .next()
            .ping(None)
            .await
            .context("Redis ping failed")?;
        Ok(())
    }
}
