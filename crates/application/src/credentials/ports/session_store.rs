//! The session store port: sessions kept under the hash of their id, read with a sliding idle
//! expiry, and ended one at a time, per account or per device.

use async_trait::async_trait;
use gatehouse_domain::{AuthMethod, DeviceId, SecurityStamp, UserId};
use time::OffsetDateTime;

use crate::shared::context::SessionKey;

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Whose session.
    pub user: UserId,
    /// The device it was opened from.
    pub device: Option<DeviceId>,
    /// The token unsafe requests must echo in `X-CSRF-Token`.
    pub csrf_token: String,
    /// Login time.
    pub created_at: OffsetDateTime,
    /// The absolute cap: the session ends then however active it is.
    pub expires_at: OffsetDateTime,
    /// The account's security stamp when the session was opened (or last confirmed): below
    /// the account's revocation floor, the session is dead whatever the store says.
    pub stamp: SecurityStamp,
    /// How the user proved themselves when it was opened (`amr`): a password, and a second
    /// factor when they have one.
    pub methods: Vec<AuthMethod>,
}

/// Server-side sessions with sliding idle expiry under an absolute cap.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session, idle until `idle_until` (never past `session.expires_at`).
    async fn insert(
        &self,
        key: &SessionKey,
        session: &SessionRecord,
        idle_until: OffsetDateTime,
    ) -> anyhow::Result<()>;

    /// Reads a live session and, in the same atomic step, slides its idle expiry to
    /// `idle_until` (capped at its absolute expiry). `None` when missing or expired at `now`.
    async fn touch(
        &self,
        key: &SessionKey,
        now: OffsetDateTime,
        idle_until: OffsetDateTime,
    ) -> anyhow::Result<Option<SessionRecord>>;

    /// [`SessionStore::touch`], and the session's account version (see
    /// [`crate::accounts::ports::AccountVersions`]) when this store keeps it and reads it in
    /// the same step. A store that does not keeps the default: no version.
    async fn touch_reading_version(
        &self,
        key: &SessionKey,
        now: OffsetDateTime,
        idle_until: OffsetDateTime,
    ) -> anyhow::Result<Option<(SessionRecord, Option<u64>)>> {
        Ok(self
            .touch(key, now, idle_until)
            .await?
            .map(|session| (session, None)))
    }

    /// Sets the stamp of a live session (the one a password change keeps); nothing when
    /// there is no such session.
    async fn restamp(&self, key: &SessionKey, stamp: SecurityStamp) -> anyhow::Result<()>;

    /// Ends one session.
    async fn remove(&self, key: &SessionKey) -> anyhow::Result<()>;

    /// Ends every session of `user` except `keep` (the caller's own, on a password change).
    async fn remove_all_for_user(
        &self,
        user: UserId,
        keep: Option<SessionKey>,
    ) -> anyhow::Result<()>;

    /// Ends every session opened from `device`.
    async fn remove_all_for_device(&self, device: DeviceId) -> anyhow::Result<()>;
}
