//! The account-version port: a counter per account that every write of the account moves,
//! shared by every instance, so an instance can tell whether the copy of an account it holds
//! is still the account.

use async_trait::async_trait;
use gatehouse_domain::UserId;

/// A counter per account, moved by every write of the account (its row, its credits) and read
/// before an account is served from an in-process cache. A copy read at version `v` is the
/// account for as long as the counter still says `v`.
///
/// A counter may forget an account that has not been written for a long time (it then reads
/// 0 again), but never sooner than [`VERSIONS_REMEMBERED_FOR`]: longer than any
/// cached copy lives, so no copy from before the forgetting is ever taken for current.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait AccountVersions: Send + Sync {
    /// The account's version: 0 until its first write (or after it was forgotten).
    async fn current(&self, user: UserId) -> anyhow::Result<u64>;

    /// Moves the account's version forward.
    async fn bump(&self, user: UserId) -> anyhow::Result<()>;
}

/// The shortest time an account's version is remembered after the account's last write.
pub const VERSIONS_REMEMBERED_FOR: std::time::Duration =
    std::time::Duration::from_secs(7 * 24 * 3600);
