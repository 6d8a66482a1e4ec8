//! The signing-key material port: makes key pairs and puts published keys to use.

use async_trait::async_trait;
use gatehouse_domain::KeyState;
use time::OffsetDateTime;

use super::StoredSigningKey;

/// Where key pairs come from and where published keys go: the token codec signs with the
/// current key and verifies with every published one.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait SigningKeyMaterial: Send + Sync {
    /// The JOSE algorithm new keys are made for (`EdDSA`, `ES256`, `RS256`).
    fn algorithm(&self) -> &str;

    /// A new key pair for [`Self::algorithm`] in `state` (`current` or `next`), made at `now`,
    /// its private half sealed.
    async fn generate(
        &self,
        state: KeyState,
        now: OffsetDateTime,
    ) -> anyhow::Result<StoredSigningKey>;

    /// Opens every key of `published` (each checked against its seal) and makes them the
    /// keys tokens are signed and verified with; `pairs_since` is when the first key pair
    /// of the deployment started signing (HS256 tokens issued before it may still verify for
    /// a while). Fails, changing nothing, when any does not open: a wrong master key or a
    /// changed row must not go unnoticed.
    fn install(
        &self,
        published: &[StoredSigningKey],
        pairs_since: Option<OffsetDateTime>,
    ) -> anyhow::Result<()>;

    /// `key`'s private half sealed under the current master key, when it is still sealed
    /// under the previous one (a master-key rotation in progress); `None` when it already is
    /// under the current one. Fails when neither opens it.
    fn reseal(&self, key: &StoredSigningKey) -> anyhow::Result<Option<Vec<u8>>>;
}
