//! The rate limiter port: counts attempts in windows, with reservations that can be released.

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

impl RateStatus {
    /// Where a key stands after an event was counted: allowed while the count (this event
    /// included) stays within the limit, else limited until the window ends. Every adapter's
    /// `hit` answers by this rule.
    pub fn after_hit(count: u64, remaining: Duration, limit: RateLimit) -> Self {
        if count > u64::from(limit.limit) {
            RateStatus::Limited {
                retry_after: remaining,
            }
        } else {
            RateStatus::Allowed
        }
    }
}

/// Counters with expiry, shared by every instance when the adapter is shared.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one event on `key` and reports the status including it, as ONE atomic step:
    /// N concurrent events on one key are N counts, wherever they come from.
    async fn hit(&self, key: &str, limit: RateLimit) -> anyhow::Result<RateStatus>;

    /// Counts one event on `key` only while the count is below the limit, as ONE atomic
    /// step: of N concurrent reservations at most `limit` are [`RateStatus::Allowed`] per
    /// window, and a refused one counts nothing. This is the check that must happen BEFORE
    /// the work it guards (a password check), so a burst cannot slip past it.
    async fn reserve(&self, key: &str, limit: RateLimit) -> anyhow::Result<RateStatus>;

    /// Gives one counted event back (a reservation whose attempt turned out not to count).
    /// The count never goes below zero and the window is not moved; a window that has ended
    /// is left alone.
    async fn release(&self, key: &str) -> anyhow::Result<()>;

    /// Forgets `key`'s count: its next event starts a new window.
    async fn clear(&self, key: &str) -> anyhow::Result<()>;
}
