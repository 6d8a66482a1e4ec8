//! Redis (fred): the shared connection pool, its health probe, and the adapters whose state
//! every instance shares through it.

mod account_versions;
mod challenge_store;
mod rate_limiter;
mod session_store;
mod token_store;

pub use account_versions::RedisAccountVersions;
pub use challenge_store::RedisChallengeStore;
/// The shared connection pool the adapters are built on.
pub use fred::prelude::Pool as RedisPool;
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

/// Connects a pool of `size` connections to `url`: one Redis (`redis://`, `rediss://`) or a
/// cluster (`redis-cluster://host:port,host:port,...`, `rediss-cluster://...`; any node will
/// do, the others are discovered). Fails if Redis cannot be reached now; once connected, the
/// pool reconnects by itself for ever.
pub async fn connect(url: &str, size: usize) -> anyhow::Result<Pool> {
    let config = Config::from_url(&cluster_url_for_fred(url)).context("invalid Redis URL")?;
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

/// Calls `forget` whenever a connection of `pool` is re-established (Redis restarted, failed
/// over, or the network came back): what this process keeps on the strength of what Redis
/// said (copies of accounts checked against their versions) must not outlive a Redis that
/// may have lost its latest writes. Must be called inside a Tokio runtime.
pub fn on_reconnect(pool: &Pool, forget: impl Fn() + Send + Sync + 'static) {
    let forget = std::sync::Arc::new(forget);
    for client in pool.clients() {
        let forget = forget.clone();
        let _listener = fred::interfaces::EventInterface::on_reconnect(client, move |_| {
            forget();
            async { Ok(()) }
        });
    }
}

/// A cluster URL as the contract writes it (`redis-cluster://a:1,b:2`) in the form fred reads
/// (`redis-cluster://a:1?node=b:2`); any other URL unchanged.
pub fn cluster_url_for_fred(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    if !scheme.ends_with("-cluster") {
        return url.to_owned();
    }
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let (credentials, hosts) = match authority.rsplit_once('@') {
        Some((credentials, hosts)) => (format!("{credentials}@"), hosts),
        None => (String::new(), authority),
    };
    let mut hosts = hosts.split(',').filter(|host| !host.is_empty());
    let Some(first) = hosts.next() else {
        return url.to_owned();
    };
    let (path, query) = match tail.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (tail, None),
    };
    let query: Vec<String> = hosts
        .map(|host| format!("node={host}"))
        .chain(query.filter(|q| !q.is_empty()).map(str::to_owned))
        .collect();
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{}", query.join("&"))
    };
    format!("{scheme}://{credentials}{first}{path}{query}")
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

#[cfg(test)]
mod tests {
    use super::cluster_url_for_fred;

    #[test]
    fn a_cluster_url_lists_its_other_nodes_as_fred_reads_them() {
        for (given, read) in [
            (
                "redis-cluster://127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003",
                "redis-cluster://127.0.0.1:7001?node=127.0.0.1:7002&node=127.0.0.1:7003",
            ),
            (
                "rediss-cluster://user:p%40ss@a.example:7001,b.example:7002",
                "rediss-cluster://user:p%40ss@a.example:7001?node=b.example:7002",
            ),
            ("redis-cluster://a:7001", "redis-cluster://a:7001"),
            (
                "redis-cluster://a:7001,b:7002?node=c:7003",
                "redis-cluster://a:7001?node=b:7002&node=c:7003",
            ),
            ("redis://127.0.0.1:6379/2", "redis://127.0.0.1:6379/2"),
            ("rediss://h:6380", "rediss://h:6380"),
        ] {
            assert_eq!(cluster_url_for_fred(given), read, "{given}");
        }
    }

    #[test]
    fn fred_reads_a_rewritten_cluster_url_as_a_cluster_of_every_node() {
        let url = cluster_url_for_fred("redis-cluster://127.0.0.1:7001,127.0.0.1:7002");
        let config = fred::prelude::Config::from_url(&url).unwrap();
        assert!(config.server.is_clustered());
        assert_eq!(config.server.hosts().len(), 2);
    }
}
