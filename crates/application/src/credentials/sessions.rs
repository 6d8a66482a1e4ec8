//! Cookie sessions: opaque random ids whose hash is the store key, with a CSRF token, a sliding
//! idle expiry and an absolute cap.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_domain::{AuthMethod, DeviceId, SecurityStamp, UserId};
use rand::RngCore;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::credentials::ports::{SessionRecord, SessionStore};
use crate::shared::context::{ClientInfo, Credential, Principal, SessionKey, session_key};
use crate::shared::error::AppError;
use crate::shared::ports::Clock;

/// Session lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    /// Inactivity after which a session ends (default 24 h), renewed by every request.
    pub idle_ttl: Duration,
    /// Age at which a session ends however active it is (default 7 days).
    pub absolute_ttl: Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            idle_ttl: Duration::from_secs(24 * 3600),
            absolute_ttl: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// A session just created at login.
#[derive(Debug, Clone)]
pub struct StartedSession {
    /// The cookie value: 256 random bits, URL-safe base64. Only its hash is stored.
    pub session_id: String,
    /// The token unsafe requests must echo in `X-CSRF-Token`.
    pub csrf_token: String,
    /// When the session ends if left idle (never past its absolute cap).
    pub expires_at: OffsetDateTime,
}

/// A live session, read (and its idle expiry renewed) for one request.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    /// Who it authenticates.
    pub principal: Principal,
    /// Its CSRF token.
    pub csrf_token: String,
    /// When it ends if left idle from now.
    pub expires_at: OffsetDateTime,
    /// How its user proved themselves when it was opened (`amr`).
    pub methods: Vec<AuthMethod>,
}

impl ActiveSession {
    /// Whether `presented` is this session's CSRF token, compared in constant time.
    pub fn csrf_matches(&self, presented: &str) -> bool {
        bool::from(self.csrf_token.as_bytes().ct_eq(presented.as_bytes()))
    }
}

/// Cookie sessions: create at login, verify per request with sliding expiry, end.
pub struct SessionService {
    store: Arc<dyn SessionStore>,
    clock: Arc<dyn Clock>,
    settings: SessionSettings,
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl SessionService {
    /// Sessions kept in `store`, with the lifetimes in `settings`.
    pub fn new(
        store: Arc<dyn SessionStore>,
        clock: Arc<dyn Clock>,
        settings: SessionSettings,
    ) -> Self {
        Self {
            store,
            clock,
            settings,
        }
    }

    /// Starts a session for `user` on `device`, under the security stamp the sign-in read,
    /// proved by `methods`, with a fresh id (never one the client chose).
    #[tracing::instrument(skip(self))]
    pub async fn start(
        &self,
        user: UserId,
        device: Option<DeviceId>,
        stamp: SecurityStamp,
        methods: Vec<AuthMethod>,
    ) -> Result<StartedSession, AppError> {
        let now = self.clock.now();
        let session_id = random_token();
        let record = SessionRecord {
            user,
            device,
            csrf_token: random_token(),
            created_at: now,
            expires_at: now + self.settings.absolute_ttl,
            stamp,
            methods,
        };
        let idle_until = now + self.settings.idle_ttl;
        self.store
            .insert(&session_key(&session_id), &record, idle_until)
            .await?;
        Ok(StartedSession {
            session_id,
            csrf_token: record.csrf_token,
            expires_at: idle_until.min(record.expires_at),
        })
    }

    /// The live session behind a cookie value, its idle expiry renewed. Unknown, expired or
    /// ended sessions are `NotAuthenticated`; a failing store is `Unavailable` (fail closed).
    pub async fn authenticate(&self, session_id: &str) -> Result<ActiveSession, AppError> {
        let now = self.clock.now();
        let key = session_key(session_id);
        let idle_until = now + self.settings.idle_ttl;
        let (record, account_version) = self
            .store
            .touch_reading_version(&key, now, idle_until)
            .await?
            .ok_or(AppError::NotAuthenticated)?;
        Ok(ActiveSession {
            principal: Principal {
                user_id: record.user,
                device: record.device,
                stamp: record.stamp,
                authenticated_at: record.created_at,
                credential: Credential::Session { key },
                account_version,
                client: ClientInfo::default(),
            },
            csrf_token: record.csrf_token,
            expires_at: idle_until.min(record.expires_at),
            methods: record.methods,
        })
    }

    /// Moves one live session to `stamp`: the session a password change keeps stays valid
    /// under the account's new revocation floor.
    pub async fn restamp(&self, key: &SessionKey, stamp: SecurityStamp) -> Result<(), AppError> {
        Ok(self.store.restamp(key, stamp).await?)
    }

    /// Ends one session (a logout of one client): its cookie stops working everywhere.
    pub async fn end(&self, key: &SessionKey) -> Result<(), AppError> {
        Ok(self.store.remove(key).await?)
    }

    /// Ends every session of `user`.
    pub async fn end_all(&self, user: UserId) -> Result<(), AppError> {
        Ok(self.store.remove_all_for_user(user, None).await?)
    }

    /// Ends every session of `user` but the one stored under `keep`.
    pub async fn end_all_except(&self, user: UserId, keep: &SessionKey) -> Result<(), AppError> {
        Ok(self
            .store
            .remove_all_for_user(user, Some(keep.clone()))
            .await?)
    }

    /// Ends every session opened from `device`.
    pub async fn end_all_for_device(&self, device: DeviceId) -> Result<(), AppError> {
        Ok(self.store.remove_all_for_device(device).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::ports::MockSessionStore;
    use crate::test_support::{NOW, fixed_clock};

    fn service(store: MockSessionStore) -> SessionService {
        SessionService::new(Arc::new(store), fixed_clock(), SessionSettings::default())
    }

    #[tokio::test]
    async fn a_new_session_stores_only_the_hash_of_a_long_random_id() {
        let mut store = MockSessionStore::new();
        store
            .expect_insert()
            .withf(|key, record, idle| {
                key.as_str().len() == 64
                    && record.expires_at == NOW + Duration::from_secs(7 * 24 * 3600)
                    && *idle == NOW + Duration::from_secs(24 * 3600)
            })
            .times(2)
            .returning(|_, _, _| Ok(()));
        let service = service(store);
        let (a, b) = (
            service
                .start(UserId::generate(), None, SecurityStamp::INITIAL, vec![])
                .await
                .unwrap(),
            service
                .start(UserId::generate(), None, SecurityStamp::INITIAL, vec![])
                .await
                .unwrap(),
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(&a.session_id).unwrap().len(), 32);
        assert_ne!(a.session_id, b.session_id);
        assert_ne!(a.csrf_token, b.csrf_token);
        assert_ne!(session_key(&a.session_id).as_str(), a.session_id);
    }

    #[tokio::test]
    async fn an_unknown_session_is_not_authenticated_and_a_broken_store_is_unavailable() {
        let mut store = MockSessionStore::new();
        store
            .expect_touch_reading_version()
            .returning(|_, _, _| Ok(None));
        assert!(matches!(
            service(store).authenticate("x").await,
            Err(AppError::NotAuthenticated)
        ));
        let mut store = MockSessionStore::new();
        store
            .expect_touch_reading_version()
            .returning(|_, _, _| Err(anyhow::anyhow!("connection refused")));
        assert!(matches!(
            service(store).authenticate("x").await,
            Err(AppError::Unavailable(_))
        ));
    }

    #[tokio::test]
    async fn the_reported_expiry_never_passes_the_absolute_cap() {
        let user = UserId::generate();
        let mut store = MockSessionStore::new();
        store
            .expect_touch_reading_version()
            .returning(move |_, _, _| {
                Ok(Some((
                    SessionRecord {
                        user,
                        device: None,
                        csrf_token: "t".into(),
                        created_at: NOW,
                        expires_at: NOW + Duration::from_secs(60),
                        stamp: SecurityStamp::INITIAL,
                        methods: vec![gatehouse_domain::AuthMethod::Password],
                    },
                    Some(3),
                )))
            });
        let active = service(store).authenticate("x").await.unwrap();
        assert_eq!(active.expires_at, NOW + Duration::from_secs(60));
        assert_eq!(active.principal.account_version, Some(3));
        assert!(active.csrf_matches("t") && !active.csrf_matches("u") && !active.csrf_matches(""));
    }
}
