use anyhow::Context;
use async_trait::async_trait;
use fred::prelude::{KeysInterface, Pool};
use fred::types::scripts::Script;
use gatehouse_application::ports::{AccountVersions, VERSIONS_REMEMBERED_FOR};
use gatehouse_domain::UserId;

/// Moves a version and keeps it remembered. KEYS: the version. ARGV: how long (ms).
const BUMP: &str = r#"
local version = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return version
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

/// [`AccountVersions`] on Redis, shared by every instance: one counter per account, which
/// expires [`VERSIONS_REMEMBERED_FOR`] after the account's last write.
pub struct RedisAccountVersions {
    pool: Pool,
    prefix: String,
    bump: Script,
}

impl RedisAccountVersions {
    /// Versions on `pool` under `prefix` (e.g. `gatehouse:`).
    pub fn new(pool: Pool, prefix: impl Into<String>) -> Self {
        Self {
            pool,
            prefix: prefix.into(),
            bump: Script::from_lua(BUMP),
        }
    }
}

#[async_trait]
impl AccountVersions for RedisAccountVersions {
    async fn current(&self, user: UserId) -> anyhow::Result<u64> {
        let version: Option<u64> = self
            .pool
            .get(account_version_key(&self.prefix, user))
            .await
            .context("Redis GET failed")?;
        Ok(version.unwrap_or(0))
    }

    async fn bump(&self, user: UserId) -> anyhow::Result<()> {
        let _: i64 = self
            .bump
            .evalsha_with_reload(
                self.pool.next(),
                vec![account_version_key(&self.prefix, user)],
                vec![VERSIONS_REMEMBERED_FOR.as_millis().to_string()],
            )
            .await
            .context("Redis account version bump failed")?;
        Ok(())
    }
}
