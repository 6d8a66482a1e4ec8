//! The token store port: refresh families rotated by one atomic conditional update, so reuse is
//! detected by the store rather than by a read-then-write race, and the access-token denylist.

use std::time::Duration;

use async_trait::async_trait;
use gatehouse_domain::{DeviceId, SecurityStamp, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

/// A chain of refresh tokens that descend from one login. Only the newest token of a family
/// is live; presenting an older one means it was stolen, and the whole family dies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshFamily {
    /// Family id (`fam` claim).
    pub id: Uuid,
    /// Whose tokens the family holds; revoking the user revokes it.
    pub user: UserId,
    /// The one live refresh token id.
    pub current_token: Uuid,
    /// The device it was issued to.
    pub device: Option<DeviceId>,
    /// When the live token expires; the record may be forgotten after that.
    pub expires_at: OffsetDateTime,
    /// When the family ends however often it is rotated: its login plus the absolute
    /// lifetime. No rotation moves it.
    pub absolute_expires_at: OffsetDateTime,
}

/// One refresh: "if `presented` is the live token of `family`, make `next` the live one".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationRequest {
    /// Family of the presented token.
    pub family: Uuid,
    /// The family's owner (the token's subject).
    pub user: UserId,
    /// The family's device (from the token).
    pub device: Option<DeviceId>,
    /// The presented token id.
    pub presented: Uuid,
    /// The id of the token that replaces it.
    pub next: Uuid,
    /// When `next` would expire by its own lifetime; the store never lets it outlive the
    /// family's absolute expiry.
    pub next_expires_at: OffsetDateTime,
    /// The instant the rotation is judged at (expiry, grace window).
    pub now: OffsetDateTime,
    /// How long after a rotation the token it replaced is refused without being treated as
    /// theft (concurrent refreshes from one client). Zero: never.
    pub grace: Duration,
}

/// The result of a [`RotationRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// `presented` was live; `next` is now, until `expires_at` (the request's
    /// `next_expires_at`, or the family's absolute expiry if that comes first).
    Rotated {
        /// When `next` expires.
        expires_at: OffsetDateTime,
    },
    /// The family has reached its absolute expiry: the user signs in again. (A store that
    /// forgets a family when its time is up answers [`Rotation::Revoked`] instead; callers
    /// tell the two apart by the token's own expiry.)
    Expired,
    /// `presented` was already rotated: the family has just been revoked.
    ReuseDetected,
    /// `presented` was rotated within the grace window: refused, family kept.
    WithinGrace,
    /// The family is revoked, expired or unknown.
    Revoked,
}

/// Where a refresh token stands in its family, read without changing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshTokenState {
    /// The live token of a live family: presenting it to a rotation would rotate it.
    Live,
    /// The token its family was rotated away from within the grace window: presenting it
    /// to a rotation would be refused without revoking anything.
    WithinGrace,
    /// An older token of a live family (already rotated, past any grace): presenting it to
    /// a rotation would be reuse.
    Superseded,
    /// The family has reached its absolute expiry.
    Expired,
    /// The family is revoked, past its live token's expiry, or unknown.
    Revoked,
}

/// Server-side token state: refresh families, the access-token denylist and per-user
/// revocation. Shared by every instance, so a revocation holds everywhere at once.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Records a new family whose live token is `family.current_token`.
    async fn create_family(&self, family: &RefreshFamily) -> anyhow::Result<()>;

    /// Rotates a family as ONE atomic step: of two concurrent requests presenting the same
    /// token, at most one gets [`Rotation::Rotated`].
    async fn rotate(&self, request: &RotationRequest) -> anyhow::Result<Rotation>;

    /// Where `token` stands in `family` at `now`, judged exactly as [`TokenStore::rotate`]
    /// would judge it with this `grace`. A read: nothing changes, and an answer may be out
    /// of date by the time it is used (a rotation may follow at once).
    async fn refresh_token_state(
        &self,
        family: Uuid,
        token: Uuid,
        now: OffsetDateTime,
        grace: Duration,
    ) -> anyhow::Result<RefreshTokenState>;

    /// Revokes one family (logout).
    async fn revoke_family(&self, family: Uuid) -> anyhow::Result<()>;

    /// Revokes every family of `user` and every access token issued under a security stamp
    /// older than `floor` (the floor only ever rises). `remember_until` is when the last such
    /// access token expires.
    async fn revoke_user(
        &self,
        user: UserId,
        floor: SecurityStamp,
        remember_until: OffsetDateTime,
    ) -> anyhow::Result<()>;

    /// Revokes every family of `device` and every access token issued to it at or before
    /// `before` (to the millisecond: a token issued in the same millisecond as the
    /// revocation is revoked).
    async fn revoke_device(
        &self,
        device: DeviceId,
        before: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> anyhow::Result<()>;

    /// Records that `user`'s role or permissions changed at `at`, until `remember_until`
    /// (never moving an instant already recorded back). Gatehouse reads the account and
    /// ignores it; services that trust the grant access tokens carry (`gatehouse-verify`)
    /// refuse the tokens issued at or before it, and their clients refresh.
    async fn mark_grant_changed(
        &self,
        user: UserId,
        at: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> anyhow::Result<()>;

    /// Puts one access token on the denylist until it expires.
    async fn deny_access_token(
        &self,
        token_id: Uuid,
        expires_at: OffsetDateTime,
    ) -> anyhow::Result<()>;

    /// Whether an access token was denied, carries a stamp below its user's floor, or was
    /// issued at or before its device's revocation instant; and the account's version (see
    /// [`crate::accounts::ports::AccountVersions`]) when this store keeps it and reads it in
    /// the same step (`None` from a store that does not).
    async fn check_access_token(
        &self,
        user: UserId,
        device: Option<DeviceId>,
        token_id: Uuid,
        issued_at: OffsetDateTime,
        stamp: SecurityStamp,
    ) -> anyhow::Result<AccessTokenCheck>;
}

/// What [`TokenStore::check_access_token`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessTokenCheck {
    /// The token is revoked.
    pub revoked: bool,
    /// The account's version, when the store read it along.
    pub account_version: Option<u64>,
}
