//! The pre-registration port: the list of addresses waiting for sign-up.

use async_trait::async_trait;
use gatehouse_domain::Email;
use time::OffsetDateTime;

/// Addresses of people who asked to hear when sign-up opens.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PreRegistrations: Send + Sync {
    /// Stores `email` once; storing it again changes nothing. `true` when it was new.
    async fn add(&self, email: &Email, at: OffsetDateTime) -> anyhow::Result<bool>;
}
