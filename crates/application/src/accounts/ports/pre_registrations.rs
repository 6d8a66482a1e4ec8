//! The pre-registration port: the list of addresses waiting for sign-up.

use async_trait::async_trait;
use gatehouse_domain::Email;
use time::OffsetDateTime;

/// One address on the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreRegistration {
    /// The normalised address.
    pub email: String,
    /// When it was first added.
    pub created_at: OffsetDateTime,
}

/// Addresses of people who asked to hear when sign-up opens.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PreRegistrations: Send + Sync {
    /// Stores `email` once; storing it again changes nothing. `true` when it was new.
    async fn add(&self, email: &Email, at: OffsetDateTime) -> anyhow::Result<bool>;

    /// Up to `limit` addresses, oldest first (by `created_at`, then email), after `after`
    /// when given: walking on from the last one read lists every address exactly once.
    async fn list<'a>(
        &self,
        after: Option<&'a PreRegistration>,
        limit: u64,
    ) -> anyhow::Result<Vec<PreRegistration>>;
}
