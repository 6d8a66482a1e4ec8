use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use fred::prelude::{KeysInterface, Pool};
use fred::types::Expiration;
use gatehouse_application::ports::ChallengeStore;

/// [`ChallengeStore`] in Redis: each value a string key with its expiry, `take` one `GETDEL`
/// (atomic: of concurrent takers one gets the value), so any instance finishes what another
/// began.
pub struct RedisChallengeStore {
    pool: Pool,
    prefix: String,
}

impl RedisChallengeStore {
    /// A store on `pool` whose keys all start with `prefix`.
    pub fn new(pool: Pool, prefix: impl Into<String>) -> Self {
        Self {
            pool,
            prefix: prefix.into(),
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}ch:{key}", self.prefix)
    }
}

#[async_trait]
impl ChallengeStore for RedisChallengeStore {
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()> {
        let ms = i64::try_from(ttl.as_millis().max(1)).context("a lifetime too long")?;
        let _: () = self
            .pool
            .next()
            .set(self.key(key), value, Some(Expiration::PX(ms)), None, false)
            .await
            .context("Redis challenge write failed")?;
        Ok(())
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<String>> {
        self.pool
            .next()
            .get(self.key(key))
            .await
            .context("Redis challenge read failed")
    }

    async fn take(&self, key: &str) -> anyhow::Result<Option<String>> {
        self.pool
            .next()
            .getdel(self.key(key))
            .await
            .context("Redis challenge take failed")
    }

    async fn remove(&self, key: &str) -> anyhow::Result<()> {
        let _: i64 = self
            .pool
            .next()
            .del(self.key(key))
            .await
            .context("Redis challenge removal failed")?;
        Ok(())
    }
}
