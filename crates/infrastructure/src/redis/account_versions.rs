use anyhow::Context;
use async_trait::async_trait;
use fred::prelude::Pool;
use fred::types::scripts::Script;
use gatehouse_application::ports::{AccountVersions, VERSIONS_REMEMBERED_FOR};
use gatehouse_domain::UserId;

/// Lua: `version_origin()`, a version for a key that holds none: the server's clock in
/// microseconds, as digits (a Lua number would print in exponent form). Larger than any
/// version an earlier life of the key reached, short of a million writes a second.
const ORIGIN: &str = r#"
local function version_origin()
  local clock = redis.call('TIME')
  return clock[1] .. string.format('%06d', tonumber(clock[2]))
end
"#;

/// Reads a version, starting it when there is none. KEYS: the version. ARGV: how long it is
/// remembered (ms; 0: for ever).
const CURRENT: &str = r#"
local version = redis.call('GET', KEYS[1])
if version then
  return version
end
version = version_origin()
if tonumber(ARGV[1]) > 0 then
  redis.call('SET', KEYS[1], version, 'PX', ARGV[1])
else
  redis.call('SET', KEYS[1], version)
end
return version
"#;

/// Moves a version to the next one or to the server's clock, whichever is higher (so a
/// version is never handed out twice, also after a failover lost the latest moves), and
/// returns it. KEYS: the version. ARGV: how long it is remembered (ms; 0: for ever).
const BUMP: &str = r#"
local now = version_origin()
local version = redis.call('GET', KEYS[1])
if version and tonumber(version) >= tonumber(now) then
  redis.call('INCR', KEYS[1])
else
  redis.call('SET', KEYS[1], now)
end
if tonumber(ARGV[1]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return redis.call('GET', KEYS[1])
"#;

/// The key of `user`'s account version under `prefix`. The user's id is its hash tag: on a
/// cluster it lives in the slot of the user's other keys, so one command reads it along
/// with them.
pub(crate) fn account_version_key(prefix: &str, user: UserId) -> String {
    format!("{}{{{user}}}", account_version_key_prefix(prefix))
}

/// What every account version key starts with (a script that finds the user itself appends
/// `{user}`).
pub(crate) fn account_version_key_prefix(prefix: &str) -> String {
    format!("{prefix}acct:ver:")
}

/// The key of the directory's version under `prefix`.
fn directory_version_key(prefix: &str) -> String {
    format!("{prefix}acct:directory-ver")
}

/// [`AccountVersions`] on Redis, shared by every instance: one counter per account, which
/// expires [`VERSIONS_REMEMBERED_FOR`] after the account's last write, and one for the
/// directory. A counter that is missing starts from the server's clock (see [`ORIGIN`]), and
/// a move never goes below it.
pub struct RedisAccountVersions {
    pool: Pool,
    prefix: String,
    current: Script,
    bump: Script,
}

impl RedisAccountVersions {
    /// Versions on `pool` under `prefix` (e.g. `gatehouse:`).
    pub fn new(pool: Pool, prefix: impl Into<String>) -> Self {
        Self {
            pool,
            prefix: prefix.into(),
            current: Script::from_lua(format!("{ORIGIN}{CURRENT}")),
            bump: Script::from_lua(format!("{ORIGIN}{BUMP}")),
        }
    }

    async fn read(&self, key: String, remembered_ms: u128) -> anyhow::Result<u64> {
        let version: String = self
            .current
            .evalsha_with_reload(self.pool.next(), vec![key], vec![remembered_ms.to_string()])
            .await
            .context("Redis version read failed")?;
        version.parse().context("malformed version")
    }

    async fn bump_key(&self, key: String, remembered_ms: u128) -> anyhow::Result<u64> {
        let version: String = self
            .bump
            .evalsha_with_reload(self.pool.next(), vec![key], vec![remembered_ms.to_string()])
            .await
            .context("Redis version bump failed")?;
        version.parse().context("malformed version")
    }
}

#[async_trait]
impl AccountVersions for RedisAccountVersions {
    async fn current(&self, user: UserId) -> anyhow::Result<u64> {
        let key = account_version_key(&self.prefix, user);
        self.read(key, VERSIONS_REMEMBERED_FOR.as_millis()).await
    }

    async fn bump(&self, user: UserId) -> anyhow::Result<u64> {
        let key = account_version_key(&self.prefix, user);
        self.bump_key(key, VERSIONS_REMEMBERED_FOR.as_millis())
            .await
    }

    async fn directory(&self) -> anyhow::Result<u64> {
        self.read(directory_version_key(&self.prefix), 0).await
    }

    async fn bump_directory(&self) -> anyhow::Result<()> {
        self.bump_key(directory_version_key(&self.prefix), 0)
            .await?;
        Ok(())
    }
}
