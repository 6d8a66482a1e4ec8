//! Gatehouse's revocations, read from the Redis it writes them to.

mod keys;

use std::sync::Arc;
use std::time::Duration;

use fred::prelude::{Builder, ClientLike, Config, KeysInterface, Pool, ReconnectPolicy};

use crate::claims::Claims;
use crate::error::ConfigError;

/// How long a Redis command may take. A token is refused (503) after this rather than
/// waiting while Redis is away; Gatehouse uses the same bound.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// Connections in a pool made by [`RedisRevocation::connect`]: one short MGET per request
/// needs few.
const POOL_SIZE: usize = 4;

/// Reads whether a verified token was revoked in Gatehouse: denied by id, below its user's
/// security-stamp floor (sign-out everywhere, password change), or issued before its
/// device's (or, from an earlier Gatehouse, its user's) revocation instant. One `MGET` per
/// token. Cheap to clone.
#[derive(Clone)]
pub struct RedisRevocation {
    pool: Pool,
    prefix: Arc<str>,
}

impl std::fmt::Debug for RedisRevocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRevocation")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisRevocation {
    /// Gatehouse's default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "gatehouse:";

    /// Connects to the Redis Gatehouse uses (`redis://` or `rediss://`), whose keys start
    /// with `prefix` (Gatehouse's `REDIS_PREFIX`, by default [`Self::DEFAULT_PREFIX`]). Fails
    /// if Redis cannot be reached now; once connected, the pool reconnects by itself.
    pub async fn connect(redis_url: &str, prefix: impl Into<String>) -> Result<Self, ConfigError> {
        let config = Config::from_url(redis_url)
            .map_err(|e| ConfigError::new(format!("invalid Redis URL: {e}")))?;
        let pool = Builder::from_config(config)
            .with_connection_config(|c| {
                c.connection_timeout = COMMAND_TIMEOUT;
                c.internal_command_timeout = COMMAND_TIMEOUT;
            })
            .with_performance_config(|c| c.default_command_timeout = COMMAND_TIMEOUT)
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
            .build_pool(POOL_SIZE)
            .map_err(|e| ConfigError::new(format!("cannot build the Redis pool: {e}")))?;
        pool.init()
            .await
            .map_err(|e| ConfigError::new(format!("cannot connect to Redis: {e}")))?;
        Ok(Self::new(pool, prefix))
    }

    /// Reads revocations through a pool the service already has. Give its commands a
    /// timeout: a request waits for Redis as long as they do.
    pub fn new(pool: Pool, prefix: impl Into<String>) -> Self {
        Self {
            pool,
            prefix: Arc::from(prefix.into()),
        }
    }

    /// Whether Gatehouse revoked the token with these (verified) claims; an error when
    /// Redis cannot say, which the caller treats as a refusal.
    pub(crate) async fn is_revoked(&self, claims: &Claims) -> Result<bool, String> {
        let prefix = &*self.prefix;
        let mut names = vec![
            keys::denied(prefix, claims.token_id),
            keys::stamp_floor(prefix, claims.subject),
            keys::legacy_revoked_before(prefix, claims.subject),
            keys::own_revoked_before(prefix, claims.subject),
            keys::grant_changed(prefix, claims.subject),
        ];
        names.extend(
            claims
                .device
                .map(|d| keys::device_revoked_before(prefix, d)),
        );
        let values: Vec<Option<String>> = self
            .pool
            .mget(names)
            .await
            .map_err(|e| format!("Redis MGET failed: {e}"))?;
        Ok(revoked(&values, claims))
    }
}

/// Gatehouse's rule, on the values of the keys above in their order (the device's last,
/// when the token has one). It mirrors `check_access_token` exactly, comparisons
/// included (a token of a revocation's own millisecond is revoked), and adds the grant
/// change Gatehouse records for services like this one, which trust the token's grant.
fn revoked(values: &[Option<String>], claims: &Claims) -> bool {
    let number = |index: usize| {
        values
            .get(index)
            .and_then(Option::as_deref)
            .and_then(|v| v.parse::<i128>().ok())
    };
    let issued = claims.issued_at.unix_timestamp_nanos() / 1_000_000;
    let denied = values.first().is_some_and(Option::is_some);
    let below_floor = number(1).is_some_and(|floor| i128::from(claims.stamp) < floor);
    // Only an instant an earlier Gatehouse wrote counts; the current one's are the floor's.
    let legacy = number(2).filter(|before| number(3) != Some(*before));
    let legacy_revoked = legacy.is_some_and(|before| issued <= before);
    // Not a Gatehouse revocation: the role or permissions changed after the token was
    // issued, so the grant it carries is stale (its client refreshes and gets the new one).
    let stale_grant = number(4).is_some_and(|changed| issued <= changed);
    let device_revoked =
        claims.device.is_some() && number(5).is_some_and(|before| issued <= before);
    denied || below_floor || legacy_revoked || stale_grant || device_revoked
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;
    use uuid::Uuid;

    const ISSUED_MS: i64 = 1_700_000_000_500;

    fn claims(device: Option<Uuid>) -> Claims {
        let issued_at =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(ISSUED_MS) * 1_000_000).unwrap();
        Claims {
            subject: Uuid::new_v4(),
            token_id: Uuid::new_v4(),
            role: "user".into(),
            permissions: vec![],
            amr: vec!["pwd".into()],
            issued_at,
            expires_at: issued_at + time::Duration::minutes(15),
            issuer: "gatehouse".into(),
            audience: "api".into(),
            device,
            stamp: 3,
        }
    }

    /// The denylist, floor, legacy and own instants, and the device's, with no grant change.
    fn values(items: [Option<&str>; 5]) -> Vec<Option<String>> {
        let mut values: Vec<_> = items.iter().map(|v| v.map(str::to_owned)).collect();
        values.insert(4, None);
        values
    }

    #[test]
    fn a_grant_change_refuses_tokens_issued_up_to_its_millisecond() {
        let c = claims(None);
        let with_grant = |at: i64| {
            let mut values = values([None; 5]);
            values[4] = Some(at.to_string());
            values
        };
        assert!(revoked(&with_grant(ISSUED_MS), &c));
        assert!(!revoked(&with_grant(ISSUED_MS - 1), &c));
    }

    #[test]
    fn key_names_match_gatehouse_token_store() {
        let id = Uuid::nil();
        assert_eq!(
            keys::denied("g:", id),
            "g:at:deny:00000000-0000-0000-0000-000000000000"
        );
        assert_eq!(keys::stamp_floor("g:", id), format!("g:at:floor:{id}"));
        assert_eq!(
            keys::legacy_revoked_before("g:", id),
            format!("g:at:before:{id}")
        );
        assert_eq!(
            keys::own_revoked_before("g:", id),
            format!("g:at:before-ours:{id}")
        );
        assert_eq!(
            keys::device_revoked_before("g:", id),
            format!("g:at:device-before:{id}")
        );
        assert_eq!(
            keys::grant_changed("g:", id),
            format!("g:at:grant-before:{id}")
        );
    }

    #[test]
    fn nothing_recorded_is_not_revoked() {
        assert!(!revoked(&values([None; 5]), &claims(Some(Uuid::new_v4()))));
        assert!(!revoked(&[], &claims(None)));
    }

    #[test]
    fn a_denied_token_is_revoked_whatever_the_value() {
        assert!(revoked(
            &values([Some(""), None, None, None, None]),
            &claims(None)
        ));
    }

    #[test]
    fn the_stamp_floor_revokes_lower_stamps_only() {
        let c = claims(None);
        assert!(revoked(&values([None, Some("4"), None, None, None]), &c));
        assert!(!revoked(&values([None, Some("3"), None, None, None]), &c));
        assert!(!revoked(
            &values([None, Some("junk"), None, None, None]),
            &c
        ));
    }

    #[test]
    fn the_legacy_instant_counts_only_when_not_ours() {
        let c = claims(None);
        let at = ISSUED_MS.to_string();
        let later = (ISSUED_MS + 1).to_string();
        let earlier = (ISSUED_MS - 1).to_string();
        assert!(revoked(&values([None, None, Some(&at), None, None]), &c));
        assert!(revoked(
            &values([None, None, Some(&later), Some(&at), None]),
            &c
        ));
        assert!(!revoked(
            &values([None, None, Some(&later), Some(&later), None]),
            &c
        ));
        assert!(!revoked(
            &values([None, None, Some(&earlier), None, None]),
            &c
        ));
    }

    #[test]
    fn the_device_instant_revokes_tokens_up_to_its_millisecond() {
        let c = claims(Some(Uuid::new_v4()));
        let at = ISSUED_MS.to_string();
        let earlier = (ISSUED_MS - 1).to_string();
        assert!(revoked(&values([None, None, None, None, Some(&at)]), &c));
        assert!(!revoked(
            &values([None, None, None, None, Some(&earlier)]),
            &c
        ));
        // A token without a device has no fifth key.
        assert!(!revoked(
            &values([None, None, None, None, Some(&at)]),
            &claims(None)
        ));
    }
}
