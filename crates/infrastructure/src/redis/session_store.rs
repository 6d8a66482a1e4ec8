use anyhow::Context;
use async_trait::async_trait;
use fred::prelude::{ClientLike, Pool};
use fred::types::scripts::Script;
use gatehouse_application::ports::{SessionKey, SessionRecord, SessionStore};
use gatehouse_domain::{DeviceId, SecurityStamp, UserId};
use time::OffsetDateTime;

use crate::clock::unix_ms;
use uuid::Uuid;

use crate::redis::EXTEND_EXPIRY;
use crate::redis::account_versions::account_version_key_prefix;

/// KEYS: session, user's sessions, and the device's sessions when there is a device (no
/// empty-name placeholder: a key that is not there is not touched). ARGV: user, csrf, created
/// (ms), absolute expiry (ms), idle expiry (ms), session key suffix, device (or ""), stamp,
/// authentication methods (`amr`, comma-separated).
/// The sets last at least as long as their longest session (see [`EXTEND_EXPIRY`]).
const INSERT: &str = r#"
redis.call('HSET', KEYS[1], 'user', ARGV[1], 'csrf', ARGV[2], 'created', ARGV[3], 'expires', ARGV[4], 'device', ARGV[7], 'stamp', ARGV[8], 'amr', ARGV[9])
redis.call('PEXPIREAT', KEYS[1], math.min(tonumber(ARGV[5]), tonumber(ARGV[4])))
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], ARGV[6])
  extend(KEYS[i], ARGV[4])
end
return 1
"#;

/// Read and slide in one step. KEYS: session. ARGV: now (ms), idle expiry (ms), and
/// optionally the account version key's prefix: then the session's account version is read
/// too, as an eighth field, empty when there is none (a key the script names itself, which a single Redis allows and a
/// cluster does not: on a cluster the version is read apart). Sessions stored before stamps
/// existed read as stamp 0, before `amr` as a password sign-in.
const TOUCH: &str = r#"
local s = redis.call('HMGET', KEYS[1], 'user', 'csrf', 'created', 'expires', 'device', 'stamp', 'amr')
if not s[1] then
  return false
end
if tonumber(s[4]) <= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return false
end
redis.call('PEXPIREAT', KEYS[1], math.min(tonumber(ARGV[2]), tonumber(s[4])))
s[5] = s[5] or ''
s[6] = s[6] or '0'
s[7] = s[7] or 'pwd'
if ARGV[3] then
  s[8] = redis.call('GET', ARGV[3] .. '{' .. s[1] .. '}') or ''
end
return s
"#;

/// Sets a live session's stamp; a missing one stays missing. KEYS: session. ARGV: stamp.
const RESTAMP: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'stamp', ARGV[1])
end
return 1
"#;

/// KEYS: a set of sessions (a user's or a device's). ARGV: session key prefix, the key
/// suffix of a session to keep (or "").
const REMOVE_ALL: &str = r#"
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if id ~= ARGV[2] then
    redis.call('DEL', ARGV[1] .. id)
  end
end
redis.call('DEL', KEYS[1])
if ARGV[2] ~= '' then
  local expires = redis.call('HGET', ARGV[1] .. ARGV[2], 'expires')
  if expires then
    redis.call('SADD', KEYS[1], ARGV[2])
    redis.call('PEXPIREAT', KEYS[1], expires)
  end
end
return 1
"#;

/// [`SessionStore`] on Redis: sessions are hashes that expire by themselves.
pub struct RedisSessionStore {
    pool: Pool,
    prefix: String,
    insert: Script,
    touch: Script,
    restamp: Script,
    remove_all: Script,
}

impl RedisSessionStore {
    /// A store on `pool` whose keys all start with `prefix`.
    pub fn new(pool: Pool, prefix: impl Into<String>) -> Self {
        Self {
            pool,
            prefix: prefix.into(),
            insert: Script::from_lua(format!("{EXTEND_EXPIRY}{INSERT}")),
            touch: Script::from_lua(TOUCH),
            restamp: Script::from_lua(RESTAMP),
            remove_all: Script::from_lua(REMOVE_ALL),
        }
    }

    fn session_prefix(&self) -> String {
        format!("{}sess:", self.prefix)
    }

    fn session_key(&self, key: &SessionKey) -> String {
        format!("{}{}", self.session_prefix(), key.as_str())
    }

    fn user_key(&self, user: UserId) -> String {
        format!("{}sess-user:{user}", self.prefix)
    }

    fn device_key(&self, device: DeviceId) -> String {
        format!("{}sess-device:{device}", self.prefix)
    }

    /// Reads and slides a session (see [`TOUCH`]), with its account version when asked.
    async fn touch_session(
        &self,
        key: &SessionKey,
        now: OffsetDateTime,
        idle_until: OffsetDateTime,
        with_version: bool,
    ) -> anyhow::Result<Option<(SessionRecord, Option<u64>)>> {
        let mut args = vec![unix_ms(now).to_string(), unix_ms(idle_until).to_string()];
        if with_version {
            args.push(account_version_key_prefix(&self.prefix));
        }
        let fields: Option<Vec<String>> = self
            .touch
            .evalsha_with_reload(self.pool.next(), vec![self.session_key(key)], args)
            .await
            .context("Redis session touch failed")?;
        let Some(fields) = fields else {
            return Ok(None);
        };
        let (version, fields) = match fields.as_slice() {
            [fields @ .., version] if with_version => (Some(version.as_str()), fields),
            fields => (None, fields),
        };
        let [user, csrf, created, expires, device, stamp, amr] = fields else {
            anyhow::bail!("malformed session record");
        };
        let instant = |ms: &str| -> anyhow::Result<OffsetDateTime> {
            let ms: i128 = ms.parse().context("malformed session time")?;
            Ok(OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000)?)
        };
        let device = match device.as_str() {
            "" => None,
            id => Some(DeviceId::from_uuid(
                Uuid::parse_str(id).context("malformed session device")?,
            )),
        };
        let session = SessionRecord {
            user: UserId::from_uuid(Uuid::parse_str(user).context("malformed session user")?),
            device,
            csrf_token: csrf.clone(),
            created_at: instant(created)?,
            expires_at: instant(expires)?,
            stamp: SecurityStamp::new(stamp.parse().context("malformed session stamp")?),
            methods: amr
                .split(',')
                .filter(|m| !m.is_empty())
                .map(|m| m.parse().context("malformed session amr"))
                .collect::<anyhow::Result<_>>()?,
        };
        // No version yet (""): the cache asks for one, which starts it.
        let version = version
            .filter(|v| !v.is_empty())
            .map(|v| v.parse().context("malformed account version"))
            .transpose()?;
        Ok(Some((session, version)))
    }

    async fn remove_set(&self, set_key: String, keep: Option<SessionKey>) -> anyhow::Result<()> {
        let keep = keep.map(|k| k.as_str().to_owned()).unwrap_or_default();
        let _: i64 = self
            .remove_all
            .evalsha_with_reload(
                self.pool.next(),
                vec![set_key],
                vec![self.session_prefix(), keep],
            )
            .await
            .context("Redis session removal failed")?;
        Ok(())
    }
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn insert(
        &self,
        key: &SessionKey,
        session: &SessionRecord,
        idle_until: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let mut keys = vec![self.session_key(key), self.user_key(session.user)];
        keys.extend(session.device.map(|d| self.device_key(d)));
        let args = vec![
            session.user.to_string(),
            session.csrf_token.clone(),
            unix_ms(session.created_at).to_string(),
            unix_ms(session.expires_at).to_string(),
            unix_ms(idle_until).to_string(),
            key.as_str().to_owned(),
            session.device.map(|d| d.to_string()).unwrap_or_default(),
            session.stamp.to_string(),
            session
                .methods
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ];
        let _: i64 = self
            .insert
            .evalsha_with_reload(self.pool.next(), keys, args)
            .await
            .context("Redis session insert failed")?;
        Ok(())
    }

    async fn touch(
        &self,
        key: &SessionKey,
        now: OffsetDateTime,
        idle_until: OffsetDateTime,
    ) -> anyhow::Result<Option<SessionRecord>> {
        let touched = self.touch_session(key, now, idle_until, false).await?;
        Ok(touched.map(|(session, _)| session))
    }

    async fn touch_reading_version(
        &self,
        key: &SessionKey,
        now: OffsetDateTime,
        idle_until: OffsetDateTime,
    ) -> anyhow::Result<Option<(SessionRecord, Option<u64>)>> {
        // A cluster keeps the version in the user's slot, not the session's.
        let with_version = !self.pool.next().is_clustered();
        self.touch_session(key, now, idle_until, with_version).await
    }
    async fn restamp(&self, key: &SessionKey, stamp: SecurityStamp) -> anyhow::Result<()> {
        let _: i64 = self
            .restamp
            .evalsha_with_reload(
                self.pool.next(),
                vec![self.session_key(key)],
                vec![stamp.to_string()],
            )
            .await
            .context("Redis session restamp failed")?;
        Ok(())
    }

    async fn remove(&self, key: &SessionKey) -> anyhow::Result<()> {
        let _: i64 = fred::prelude::KeysInterface::del(&self.pool, self.session_key(key))
            .await
            .context("Redis DEL failed")?;
        Ok(())
    }

    async fn remove_all_for_user(
        &self,
        user: UserId,
        keep: Option<SessionKey>,
    ) -> anyhow::Result<()> {
        self.remove_set(self.user_key(user), keep).await
    }

    async fn remove_all_for_device(&self, device: DeviceId) -> anyhow::Result<()> {
        self.remove_set(self.device_key(device), None).await
    }
}
