//! The credit ledger port: appends entries atomically against the balance they must not take
//! below zero.

use async_trait::async_trait;
use gatehouse_domain::UserId;
use time::OffsetDateTime;
use uuid::Uuid;

/// One movement of a user's credits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditEntry {
    /// Entry id.
    pub id: Uuid,
    /// Whose balance moved.
    pub user: UserId,
    /// Positive: granted; negative: spent.
    pub amount: i64,
    /// The balance right after this entry.
    pub balance_after: i64,
    /// Why, in words.
    pub reason: String,
    /// Who did it.
    pub actor: Option<UserId>,
    /// When it was applied; statements list entries newest first by this.
    pub created_at: OffsetDateTime,
}

/// Why an entry was not applied.
#[derive(Debug, thiserror::Error)]
pub enum CreditError {
    /// The balance would go below zero.
    #[error("insufficient credits")]
    Insufficient,
    /// There is no such user.
    #[error("no such user")]
    UnknownUser,
    /// The store failed.
    #[error(transparent)]
    Unavailable(#[from] anyhow::Error),
}

/// The credit ledger: entries and the balance they sum to.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait CreditLedger: Send + Sync {
    /// Moves `entry.user`'s balance by `entry.amount` and records the entry, as ONE atomic
    /// step: of concurrent spends, only those the balance covers succeed, and the balance is
    /// never negative. Returns the entry with `balance_after` filled in.
    async fn apply(&self, entry: CreditEntry) -> Result<CreditEntry, CreditError>;

    /// The user's most recent entries, newest first.
    async fn recent(&self, user: UserId, limit: u64) -> anyhow::Result<Vec<CreditEntry>>;
}
