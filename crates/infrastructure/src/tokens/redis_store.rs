use anyhow::Context;
use async_trait::async_trait;
use fred::prelude::{Expiration, KeysInterface, Pool};
use fred::types::scripts::Script;
use gatehouse_application::ports::{RefreshFamily, Rotation, RotationRequest, TokenStore};
use gatehouse_domain::{DeviceId, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

/// Creates a family hash and adds it to its user's (and device's) family set.
/// KEYS: family, user families, device families (or ""). ARGV: user, current token, family
/// id, expires (unix ms).
const CREATE_FAMILY: &str = r#"
redis.call('HSET', KEYS[1], 'user', ARGV[1], 'current', ARGV[2], 'previous', '', 'rotated_at', '0', 'revoked', '0')
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
for i = 2, 3 do
  if KEYS[i] ~= '' then
    redis.call('SADD', KEYS[i], ARGV[3])
    redis.call('PEXPIREAT', KEYS[i], ARGV[4])
  end
end
return 1
"#;

/// The refresh rotation, atomic because Redis runs a script to completion before anything
/// else: two concurrent presentations of one token cannot both see it as current.
/// KEYS: family, user families, device families (or ""). ARGV: presented, next, now (ms),
/// grace (ms), next expires (ms).
const ROTATE: &str = r#"
local f = redis.call('HMGET', KEYS[1], 'current', 'previous', 'rotated_at', 'revoked')
if not f[1] or f[4] == '1' then
  return 'revoked'
end
if f[1] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'current', ARGV[2], 'previous', ARGV[1], 'rotated_at', ARGV[3])
  redis.call('PEXPIREAT', KEYS[1], ARGV[5])
  redis.call('PEXPIREAT', KEYS[2], ARGV[5])
  if KEYS[3] ~= '' then
    redis.call('PEXPIREAT', KEYS[3], ARGV[5])
  end
  return 'rotated'
end
if f[2] == ARGV[1] and tonumber(ARGV[3]) - tonumber(f[3]) < tonumber(ARGV[4]) then
  return 'grace'
end
redis.call('HSET', KEYS[1], 'revoked', '1')
return 'reused'
"#;

/// Revokes every family in a set (a user's or a device's) and raises (never lowers) the
/// owner's revocation instant. KEYS: family set, revoked-before. ARGV: before (ms), remember
/// until (ms), family key prefix. Family keys are derived in the script, which assumes a single Redis node (or one
/// hash slot), as the rest of this store does.
const REVOKE_OWNER: &str = r#"
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[3] .. id
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'revoked', '1')
  else
    redis.call('SREM', KEYS[1], id)
  end
end
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[2], ARGV[1], 'PXAT', ARGV[2])
end
return 1
"#;

/// [`TokenStore`] on Redis, shared by every instance. Keys live under a prefix and expire
/// with the tokens they describe, so Redis holds only live state.
pub struct RedisTokenStore {
    pool: Pool,
    prefix: String,
    create_family: Script,
    rotate: Script,
    revoke_owner: Script,
}

impl RedisTokenStore {
    /// A store on `pool` whose keys all start with `prefix` (e.g. `gatehouse:`).
    pub fn new(pool: Pool, prefix: impl Into<String>) -> Self {
        Self {
            pool,
            prefix: prefix.into(),
            create_family: Script::from_lua(CREATE_FAMILY),
            rotate: Script::from_lua(ROTATE),
            revoke_owner: Script::from_lua(REVOKE_OWNER),
        }
    }

    fn family_prefix(&self) -> String {
        format!("{}rt:fam:", self.prefix)
    }

    fn family_key(&self, family: Uuid) -> String {
        format!("{}{family}", self.family_prefix())
    }

    fn user_families_key(&self, user: UserId) -> String {
        format!("{}rt:user:{user}", self.prefix)
    }

    fn device_families_key(&self, device: Option<DeviceId>) -> String {
        device.map_or_else(String::new, |d| format!("{}rt:device:{d}", self.prefix))
    }

    fn device_revoked_before_key(&self, device: DeviceId) -> String {
        format!("{}at:device-before:{device}", self.prefix)
    }

    fn denied_key(&self, token: Uuid) -> String {
        format!("{}at:deny:{token}", self.prefix)
    }

    fn revoked_before_key(&self, user: UserId) -> String {
        format!("{}at:before:{user}", self.prefix)
    }

    /// Revokes the families in the set `families` and raises the instant at `cutoff`.
    async fn revoke_families_of(
        &self,
        families: String,
        cutoff: String,
        before: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let args = vec![
            unix_ms(before).to_string(),
            unix_ms(remember_until).to_string(),
            self.family_prefix(),
        ];
        let _: String = self
            .run(&self.revoke_owner, vec![families, cutoff], args)
            .await?;
        Ok(())
    }

    async fn run(
        &self,
        script: &Script,
        keys: Vec<String>,
        args: Vec<String>,
    ) -> anyhow::Result<String> {
        script
            .evalsha_with_reload(self.pool.next(), keys, args)
            .await
            .context("Redis token script failed")
    }
}

fn unix_ms(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos() / 1_000_000
}

#[async_trait]
impl TokenStore for RedisTokenStore {
    async fn create_family(&self, family: &RefreshFamily) -> anyhow::Result<()> {
        let keys = vec![
            self.family_key(family.id),
            self.user_families_key(family.user),
            self.device_families_key(family.device),
        ];
        let args = vec![
            family.user.to_string(),
            family.current_token.to_string(),
            family.id.to_string(),
            unix_ms(family.expires_at).to_string(),
        ];
        let _: String = self.run(&self.create_family, keys, args).await?;
        Ok(())
    }

    async fn rotate(&self, request: &RotationRequest) -> anyhow::Result<Rotation> {
        let keys = vec![
            self.family_key(request.family),
            self.user_families_key(request.user),
            self.device_families_key(request.device),
        ];
        let args = vec![
            request.presented.to_string(),
            request.next.to_string(),
            unix_ms(request.now).to_string(),
            request.grace.as_millis().to_string(),
            unix_ms(request.next_expires_at).to_string(),
        ];
        match self.run(&self.rotate, keys, args).await?.as_str() {
            "rotated" => Ok(Rotation::Rotated),
            "reused" => Ok(Rotation::ReuseDetected),
            "grace" => Ok(Rotation::WithinGrace),
            "revoked" => Ok(Rotation::Revoked),
            other => anyhow::bail!("unexpected rotation result {other:?}"),
        }
    }

    async fn revoke_family(&self, family: Uuid) -> anyhow::Result<()> {
        // HSET on a missing key would resurrect it without an expiry; only mark live ones.
        let key = self.family_key(family);
        let exists: i64 = self
            .pool
            .exists(&key)
            .await
            .context("Redis EXISTS failed")?;
        if exists == 1 {
            let _: i64 = fred::prelude::HashesInterface::hset(&self.pool, &key, ("revoked", "1"))
                .await
                .context("Redis HSET failed")?;
        }
        Ok(())
    }

    async fn revoke_user(
        &self,
        user: UserId,
        before: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let (families, cutoff) = (self.user_families_key(user), self.revoked_before_key(user));
        self.revoke_families_of(families, cutoff, before, remember_until)
            .await
    }

    async fn revoke_device(
        &self,
        device: DeviceId,
        before: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let families = self.device_families_key(Some(device));
        let cutoff = self.device_revoked_before_key(device);
        self.revoke_families_of(families, cutoff, before, remember_until)
            .await
    }

    async fn deny_access_token(
        &self,
        token_id: Uuid,
        expires_at: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let until = i64::try_from(unix_ms(expires_at)).context("expiry out of range")?;
        let _: Option<String> = self
            .pool
            .set(
                self.denied_key(token_id),
                "1",
                Some(Expiration::PXAT(until)),
                None,
                false,
            )
            .await
            .context("Redis SET failed")?;
        Ok(())
    }

    async fn is_access_token_revoked(
        &self,
        user: UserId,
        device: Option<DeviceId>,
        token_id: Uuid,
        issued_at: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        // One round trip: the denylist entry, then the user's and the device's cutoffs.
        let mut keys = vec![self.denied_key(token_id), self.revoked_before_key(user)];
        keys.extend(device.map(|d| self.device_revoked_before_key(d)));
        let values: Vec<Option<String>> =
            self.pool.mget(keys).await.context("Redis MGET failed")?;
        let issued = unix_ms(issued_at);
        let denied = values.first().is_some_and(Option::is_some);
        let cut_off = values
            .iter()
            .skip(1)
            .flatten()
            .filter_map(|ms| ms.parse::<i128>().ok())
            .any(|before| issued < before);
        Ok(denied || cut_off)
    }
}
