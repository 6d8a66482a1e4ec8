//! The emailed-token port: one-time verification and reset tokens, stored only as digests and
//! consumed at most once.

use async_trait::async_trait;
use gatehouse_domain::UserId;
use time::OffsetDateTime;

/// What an emailed token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenPurpose {
    /// Confirm the account's address.
    Verification,
    /// Choose a new password.
    PasswordReset,
}

impl TokenPurpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verification => "verification",
            Self::PasswordReset => "password_reset",
        }
    }
}

/// Emailed tokens, kept only as digests (SHA-256 of the token), so a leaked table cannot be
/// replayed.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait EmailTokenStore: Send + Sync {
    /// Stores a token digest for `user`, valid until `expires_at`.
    async fn issue(
        &self,
        digest: &str,
        user: UserId,
        purpose: TokenPurpose,
        created_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> anyhow::Result<()>;

    /// The user of an unexpired token, without using it up.
    async fn find(
        &self,
        digest: &str,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> anyhow::Result<Option<UserId>>;

    /// Uses the token up: `Some(user)` for exactly one caller while it is unexpired, `None`
    /// for every other, including concurrent ones.
    async fn consume(
        &self,
        digest: &str,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> anyhow::Result<Option<UserId>>;

    /// Forgets every token of `user` for `purpose` (a password change kills reset links).
    async fn discard_all(&self, user: UserId, purpose: TokenPurpose) -> anyhow::Result<()>;
}
