use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use fred::prelude::{Expiration, KeysInterface, Pool};
use fred::types::scripts::Script;
use gatehouse_application::ports::{
    AccessTokenCheck, RefreshFamily, RefreshTokenState, Rotation, RotationRequest, TokenStore,
};
use gatehouse_domain::{DeviceId, SecurityStamp, UserId};
use time::OffsetDateTime;

use crate::clock::unix_ms;
use uuid::Uuid;

use crate::redis::EXTEND_EXPIRY;
use crate::redis::account_versions::account_version_key;

/// Creates a family hash and adds it to its user's (and device's) family set, which lasts at
/// least as long as the family (see [`EXTEND_EXPIRY`]).
/// KEYS: family, user families, and device families when the family has a device (no
/// empty-name placeholder). ARGV: user, current token, family id, expires (unix ms), absolute
/// expiry (unix ms).
const CREATE_FAMILY: &str = r#"
redis.call('HSET', KEYS[1], 'user', ARGV[1], 'current', ARGV[2], 'previous', '', 'rotated_at', '0', 'revoked', '0', 'abs', ARGV[5])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], ARGV[3])
  extend(KEYS[i], ARGV[4])
end
return 1
"#;

/// The refresh rotation, atomic because Redis runs a script to completion before anything
/// else: two concurrent presentations of one token cannot both see it as current. The next
/// token never outlives the family's absolute expiry. A family recorded by a release before
/// absolute expiries existed ends with the token this rotation issues. KEYS: family, user
/// families, and device families when the family has a device. ARGV: presented, next, now (ms), grace (ms), next
/// expires (ms). Returns the outcome and, when rotated, the next token's expiry.
const ROTATE: &str = r#"
local f = redis.call('HMGET', KEYS[1], 'current', 'previous', 'rotated_at', 'revoked', 'abs')
if not f[1] or f[4] == '1' then
  return {'revoked', 0}
end
local abs = tonumber(f[5] or ARGV[5])
if not f[5] then
  redis.call('HSET', KEYS[1], 'abs', ARGV[5])
end
if tonumber(ARGV[3]) >= abs then
  return {'expired', 0}
end
if f[1] == ARGV[1] then
  local expires = math.min(tonumber(ARGV[5]), abs)
  redis.call('HSET', KEYS[1], 'current', ARGV[2], 'previous', ARGV[1], 'rotated_at', ARGV[3])
  redis.call('PEXPIREAT', KEYS[1], expires)
  for i = 2, #KEYS do
    extend(KEYS[i], expires)
  end
  return {'rotated', expires}
end
if f[2] == ARGV[1] and tonumber(ARGV[3]) - tonumber(f[3]) < tonumber(ARGV[4]) then
  return {'grace', 0}
end
redis.call('HSET', KEYS[1], 'revoked', '1')
return {'reused', 0}
"#;

/// Marks one family revoked, if it still exists: HSET on a missing key would resurrect it
/// without an expiry. One script, so the key cannot expire between the check and the write.
/// KEYS: the family.
const REVOKE_FAMILY: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'revoked', '1')
end
return 1
"#;

/// Revokes every family in a set (a user's or a device's) and raises (never lowers) each of
/// the owner's cutoffs: a user's security-stamp floor (and, for one release, the revocation
/// instant the previous release reads), or a device's revocation instant (ms). KEYS: family
/// set, then the cutoffs. ARGV: remember until (ms), family key prefix, then one value per
/// cutoff. Family keys are derived in the script, which assumes a single Redis node (or one
/// hash slot), as the rest of this store does.
const REVOKE_OWNER: &str = r#"
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[2] .. id
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'revoked', '1')
  else
    redis.call('SREM', KEYS[1], id)
  end
end
for i = 2, #KEYS do
  local current = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tonumber(ARGV[i + 1]) > current then
    redis.call('SET', KEYS[i], ARGV[i + 1], 'PXAT', ARGV[1])
  end
end
return 1
"#;

/// Raises (never lowers) one cutoff. KEYS: the cutoff. ARGV: its new value, remember until
/// (ms).
const RAISE_CUTOFF: &str = r#"
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
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
    revoke_family: Script,
    revoke_owner: Script,
    raise_cutoff: Script,
}

impl RedisTokenStore {
    /// A store on `pool` whose keys all start with `prefix` (e.g. `gatehouse:`).
    pub fn new(pool: Pool, prefix: impl Into<String>) -> Self {
        Self {
            pool,
            prefix: prefix.into(),
            create_family: Script::from_lua(format!("{EXTEND_EXPIRY}{CREATE_FAMILY}")),
            rotate: Script::from_lua(format!("{EXTEND_EXPIRY}{ROTATE}")),
            revoke_family: Script::from_lua(REVOKE_FAMILY),
            revoke_owner: Script::from_lua(REVOKE_OWNER),
            raise_cutoff: Script::from_lua(RAISE_CUTOFF),
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

    fn device_families_key(&self, device: DeviceId) -> String {
        format!("{}rt:device:{device}", self.prefix)
    }

    /// The keys a family's scripts touch: its hash, its user's set and, when it has one, its
    /// device's set.
    fn family_keys(&self, family: Uuid, user: UserId, device: Option<DeviceId>) -> Vec<String> {
        let mut keys = vec![self.family_key(family), self.user_families_key(user)];
        keys.extend(device.map(|d| self.device_families_key(d)));
        keys
    }

    fn device_revoked_before_key(&self, device: DeviceId) -> String {
        format!("{}at:device-before:{device}", self.prefix)
    }

    fn denied_key(&self, token: Uuid) -> String {
        format!("{}at:deny:{token}", self.prefix)
    }

    /// When the user's role or permissions last changed (unix ms): read by other services
    /// (`gatehouse-verify`), never by Gatehouse, which reads the account.
    fn grant_changed_key(&self, user: UserId) -> String {
        format!("{}at:grant-before:{user}", self.prefix)
    }

    fn stamp_floor_key(&self, user: UserId) -> String {
        format!("{}at:floor:{user}", self.prefix)
    }

    /// Where releases before security stamps kept a user's revocation instant (unix ms).
    /// Read, so that a revocation made by such a release (just before the upgrade, or by its
    /// instances during the rollout) holds; and written, so that such instances honour ours.
    /// Remove both in the release after next.
    fn legacy_revoked_before_key(&self, user: UserId) -> String {
        format!("{}at:before:{user}", self.prefix)
    }

    /// The instant this release last wrote to [`Self::legacy_revoked_before_key`]: while the
    /// two are equal the instant is ours, already covered (exactly) by the stamp floor, and
    /// not compared with any clock here.
    fn own_revoked_before_key(&self, user: UserId) -> String {
        format!("{}at:before-ours:{user}", self.prefix)
    }

    /// Revokes the families in the set `families` and raises each `(key, value)` cutoff.
    async fn revoke_families_of(
        &self,
        families: String,
        cutoffs: Vec<(String, String)>,
        remember_until: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let mut keys = vec![families];
        let mut args = vec![unix_ms(remember_until).to_string(), self.family_prefix()];
        for (key, value) in cutoffs {
            keys.push(key);
            args.push(value);
        }
        let _: i64 = self.run(&self.revoke_owner, keys, args).await?;
        Ok(())
    }

    async fn run<R: fred::types::FromValue>(
        &self,
        script: &Script,
        keys: Vec<String>,
        args: Vec<String>,
    ) -> anyhow::Result<R> {
        script
            .evalsha_with_reload(self.pool.next(), keys, args)
            .await
            .context("Redis token script failed")
    }
}

#[async_trait]
impl TokenStore for RedisTokenStore {
    async fn create_family(&self, family: &RefreshFamily) -> anyhow::Result<()> {
        let keys = self.family_keys(family.id, family.user, family.device);
        let args = vec![
            family.user.to_string(),
            family.current_token.to_string(),
            family.id.to_string(),
            unix_ms(family.expires_at).to_string(),
            unix_ms(family.absolute_expires_at).to_string(),
        ];
        let _: i64 = self.run(&self.create_family, keys, args).await?;
        Ok(())
    }

    async fn rotate(&self, request: &RotationRequest) -> anyhow::Result<Rotation> {
        let keys = self.family_keys(request.family, request.user, request.device);
        let args = vec![
            request.presented.to_string(),
            request.next.to_string(),
            unix_ms(request.now).to_string(),
            request.grace.as_millis().to_string(),
            unix_ms(request.next_expires_at).to_string(),
        ];
        let (outcome, expires_ms): (String, i64) = self.run(&self.rotate, keys, args).await?;
        match outcome.as_str() {
            "rotated" => Ok(Rotation::Rotated {
                expires_at: OffsetDateTime::from_unix_timestamp_nanos(
                    i128::from(expires_ms) * 1_000_000,
                )
                .context("rotation expiry out of range")?,
            }),
            "expired" => Ok(Rotation::Expired),
            "reused" => Ok(Rotation::ReuseDetected),
            "grace" => Ok(Rotation::WithinGrace),
            "revoked" => Ok(Rotation::Revoked),
            other => anyhow::bail!("unexpected rotation result {other:?}"),
        }
    }

    async fn refresh_token_state(
        &self,
        family: Uuid,
        token: Uuid,
        now: OffsetDateTime,
        grace: Duration,
    ) -> anyhow::Result<RefreshTokenState> {
        // One key, one read, judged as ROTATE judges (a family recorded before absolute
        // expiries has no `abs` and is not expired). The key expires with its live token, so
        // a family past that expiry reads as missing.
        let fields: (
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<String>,
            Option<i64>,
        ) = fred::prelude::HashesInterface::hmget(
            &self.pool,
            self.family_key(family),
            vec!["current", "previous", "rotated_at", "revoked", "abs"],
        )
        .await
        .context("Redis HMGET failed")?;
        let (current, previous, rotated_at, revoked, absolute) = fields;
        let Some(current) = current else {
            return Ok(RefreshTokenState::Revoked);
        };
        let now_ms = unix_ms(now);
        let token = token.to_string();
        Ok(if revoked.as_deref() == Some("1") {
            RefreshTokenState::Revoked
        } else if absolute.is_some_and(|abs| now_ms >= i128::from(abs)) {
            RefreshTokenState::Expired
        } else if current == token {
            RefreshTokenState::Live
        } else if previous.as_deref() == Some(token.as_str())
            && rotated_at.is_some_and(|at| now_ms - i128::from(at) < grace.as_millis() as i128)
        {
            RefreshTokenState::WithinGrace
        } else {
            RefreshTokenState::Superseded
        })
    }

    async fn revoke_family(&self, family: Uuid) -> anyhow::Result<()> {
        let _: i64 = self
            .run(&self.revoke_family, vec![self.family_key(family)], vec![])
            .await?;
        Ok(())
    }

    async fn revoke_user(
        &self,
        user: UserId,
        floor: SecurityStamp,
        remember_until: OffsetDateTime,
    ) -> anyhow::Result<()> {
        // Instances of the previous release, still running during a rollout, read only the
        // instant: keep writing it for them (remove with its reading).
        let legacy_instant = unix_ms(OffsetDateTime::now_utc()).to_string();
        let cutoffs = vec![
            (self.stamp_floor_key(user), floor.to_string()),
            (self.legacy_revoked_before_key(user), legacy_instant.clone()),
            (self.own_revoked_before_key(user), legacy_instant),
        ];
        self.revoke_families_of(self.user_families_key(user), cutoffs, remember_until)
            .await
    }

    async fn revoke_device(
        &self,
        device: DeviceId,
        before: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let cutoffs = vec![(
            self.device_revoked_before_key(device),
            unix_ms(before).to_string(),
        )];
        let families = self.device_families_key(device);
        self.revoke_families_of(families, cutoffs, remember_until)
            .await
    }

    async fn mark_grant_changed(
        &self,
        user: UserId,
        at: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let keys = vec![self.grant_changed_key(user)];
        let args = vec![unix_ms(at).to_string(), unix_ms(remember_until).to_string()];
        let _: i64 = self.run(&self.raise_cutoff, keys, args).await?;
        Ok(())
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

    async fn check_access_token(
        &self,
        user: UserId,
        device: Option<DeviceId>,
        token_id: Uuid,
        issued_at: OffsetDateTime,
        stamp: SecurityStamp,
    ) -> anyhow::Result<AccessTokenCheck> {
        // One round trip: the account's version, the denylist entry, the user's stamp floor,
        // the user's instant in the earlier release's key (and whether it is ours), the
        // device's instant.
        let mut keys = vec![
            account_version_key(&self.prefix, user),
            self.denied_key(token_id),
            self.stamp_floor_key(user),
            self.legacy_revoked_before_key(user),
            self.own_revoked_before_key(user),
        ];
        keys.extend(device.map(|d| self.device_revoked_before_key(d)));
        let values: Vec<Option<String>> =
            self.pool.mget(keys).await.context("Redis MGET failed")?;
        let number = |index: usize| {
            values
                .get(index)
                .and_then(Option::as_deref)
                .and_then(|v| v.parse::<i128>().ok())
        };
        // No version yet: the cache asks for one (which starts it).
        let account_version = number(0).map(u64::try_from).transpose()?;
        let denied = values.get(1).is_some_and(Option::is_some);
        let below_floor = number(2).is_some_and(|floor| i128::from(stamp.get()) < floor);
        let issued = unix_ms(issued_at);
        // Only an instant an earlier release wrote counts; ours are the stamp floor's.
        let legacy = number(3).filter(|before| number(4) != Some(*before));
        let legacy_revoked = legacy.is_some_and(|before| issued <= before);
        // A token of the revocation's own millisecond is revoked: exact to what tokens carry.
        let device_revoked = number(5).is_some_and(|before| issued <= before);
        Ok(AccessTokenCheck {
            revoked: denied || below_floor || legacy_revoked || device_revoked,
            account_version,
        })
    }
}
