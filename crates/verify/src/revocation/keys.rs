//! The Redis keys Gatehouse records revocations under. They must match Gatehouse's token
//! store (`gatehouse-infrastructure`, `redis/token_store.rs`, `check_access_token` and
//! the key functions it calls) exactly, key for key: a name that drifts silently turns
//! every revocation off for this service. The tests in `revocation` pin them.

use uuid::Uuid;

/// Any value: this one token (`jti`) is revoked.
pub(super) fn denied(prefix: &str, token: Uuid) -> String {
    format!("{prefix}at:deny:{token}")
}

/// An integer: the user's security-stamp floor; tokens with a lower `stm` are revoked.
pub(super) fn stamp_floor(prefix: &str, user: Uuid) -> String {
    format!("{prefix}at:floor:{user}")
}

/// Unix ms: the user's revocation instant as releases before security stamps wrote it;
/// tokens issued at or before it are revoked, unless it equals [`own_revoked_before`].
pub(super) fn legacy_revoked_before(prefix: &str, user: Uuid) -> String {
    format!("{prefix}at:before:{user}")
}

/// Unix ms: the instant the current Gatehouse last wrote to [`legacy_revoked_before`]; while
/// the two agree, the instant is already covered by the stamp floor.
pub(super) fn own_revoked_before(prefix: &str, user: Uuid) -> String {
    format!("{prefix}at:before-ours:{user}")
}

/// Unix ms: the device's revocation instant; its tokens issued at or before it are revoked.
pub(super) fn device_revoked_before(prefix: &str, device: Uuid) -> String {
    format!("{prefix}at:device-before:{device}")
}

/// Unix ms: when the user's role or permissions last changed; tokens issued at or before it
/// carry the old grant. Gatehouse writes it for services like this one and never reads it.
pub(super) fn grant_changed(prefix: &str, user: Uuid) -> String {
    format!("{prefix}at:grant-before:{user}")
}
