//! The account-version port: a counter per account that every write of the account moves,
//! shared by every instance, so an instance can tell whether the copy of an account it holds
//! is still the account.

use async_trait::async_trait;
use gatehouse_domain::UserId;

/// A counter per account, moved by every write of the account (its row, its credits) and read
/// before an account is served from an in-process cache. A copy read at version `v` is the
/// account for as long as the counter still says `v`.
///
/// A counter may forget an account that has not been written for a long time, but never
/// sooner than [`VERSIONS_REMEMBERED_FOR`], longer than any copy is kept.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait AccountVersions: Send + Sync {
    /// The account's version. A version the store does not hold (never written, forgotten,
    /// or lost with the store) starts again from where no earlier copy can be: a shared
    /// store starts it from its clock, so a copy taken before it was lost never matches.
    async fn current(&self, user: UserId) -> anyhow::Result<u64>;

    /// Moves the account's version forward; the version it moved to. A shared store never
    /// hands out a version twice, also after it lost its latest moves (a failover to a
    /// replica that had not seen them): it moves to at least its clock in microseconds.
    async fn bump(&self, user: UserId) -> anyhow::Result<u64>;

    /// The directory's version: what tells an instance that a page of users it keeps is
    /// still the page. Moved by every write of any account and by every new account.
    async fn directory(&self) -> anyhow::Result<u64>;

    /// Moves the directory's version forward.
    async fn bump_directory(&self) -> anyhow::Result<()>;
}

/// The shortest time an account's version is remembered after the account's last write.
pub const VERSIONS_REMEMBERED_FOR: std::time::Duration =
    std::time::Duration::from_secs(7 * 24 * 3600);
