use std::time::Duration;

use async_trait::async_trait;

/// At most `limit` counted events per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Events allowed in one window.
    pub limit: u32,
    /// Window length; it starts at the first counted event.
    pub window: Duration,
}

/// Where a key stands against its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateStatus {
    /// Under the limit.
    Allowed,
    /// At or over the limit until the window ends.
    Limited {
        /// Time until the window ends.
        retry_after: Duration,
    },
}

/// Counters with expiry, shared by every instance when the adapter is shared.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one event on `key` and reports the status including it, as ONE atomic step:
    /// N concurrent events on one key are N counts, wherever they come from.
    async fn hit(&self, key: &str, limit: RateLimit) -> anyhow::Result<RateStatus>;

    /// Reports the status of `key` without counting.
    async fn peek(&self, key: &str, limit: RateLimit) -> anyhow::Result<RateStatus>;

    /// Forgets `key`'s count: its next event starts a new window.
    async fn clear(&self, key: &str) -> anyhow::Result<()>;
}
