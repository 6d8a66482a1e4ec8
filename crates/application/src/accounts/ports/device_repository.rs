//! The device port: where the clients an account signed in from are recorded.

use async_trait::async_trait;
use gatehouse_domain::{Device, DeviceId, UserId};
use time::OffsetDateTime;

/// The devices users sign in from.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait DeviceRepository: Send + Sync {
    /// Records a sign-in of `user` with `user_agent` from `ip` at `now`: the existing device
    /// with that user agent is updated (last seen, address), or a new one is created. One
    /// atomic upsert, so concurrent logins never make two devices of one.
    async fn record_sign_in(
        &self,
        user: UserId,
        user_agent: &str,
        ip: Option<String>,
        now: OffsetDateTime,
    ) -> anyhow::Result<Device>;

    /// The user's devices, most recently seen first.
    async fn list(&self, user: UserId) -> anyhow::Result<Vec<Device>>;

    /// Removes one of the user's devices; `false` when the user has no such device.
    async fn delete(&self, user: UserId, device: DeviceId) -> anyhow::Result<bool>;
}
