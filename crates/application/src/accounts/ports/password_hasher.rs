//! The password hashing port: slow, salted hashes, computed off the async runtime by adapters.

use async_trait::async_trait;
use gatehouse_domain::{Password, PasswordHash};

/// Slow, salted password hashing. Implementations must keep the work off the async threads.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a password that passed the policy.
    async fn hash(&self, password: &Password) -> anyhow::Result<PasswordHash>;

    /// Whether `candidate` matches `hash`: this hasher's own hashes and the formats it
    /// accepts from elsewhere (Django's, for imported accounts). An unusable or unreadable
    /// hash matches nothing, after the same work as a wrong password.
    async fn verify(&self, candidate: &str, hash: &PasswordHash) -> anyhow::Result<bool>;

    /// Whether `hash`, once it has matched, should be replaced by this hasher's own (it is
    /// in a format accepted only for imported accounts).
    fn needs_upgrade(&self, hash: &PasswordHash) -> bool;

    /// Spends the time of one [`verify`](Self::verify) against a dummy hash of the same cost.
    /// Called when the account does not exist, so response time does not reveal that.
    async fn verify_dummy(&self, candidate: &str) -> anyhow::Result<()>;
}
