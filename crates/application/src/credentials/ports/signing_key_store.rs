//! The signing-key port: the keys every instance signs and verifies access tokens with.

use async_trait::async_trait;
use gatehouse_domain::{KeyState, KeyTimeline};
use time::OffsetDateTime;

/// A signing key as stored: its public half in the clear, its private half sealed under the
/// master key before it reaches the store (the store never sees it in the clear).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSigningKey {
    /// The key's id (`kid`), unique.
    pub kid: String,
    /// The JOSE algorithm it signs with (`EdDSA`, `ES256`, `RS256`).
    pub algorithm: String,
    /// Where it is in its life.
    pub state: KeyState,
    /// The public JWK, as JSON, exactly as the JWKS publishes it.
    pub public_jwk: String,
    /// The private key, sealed (see the infrastructure's `MasterKey`).
    pub sealed_private_key: Vec<u8>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it started signing.
    pub activated_at: Option<OffsetDateTime>,
    /// When it stopped signing.
    pub retired_at: Option<OffsetDateTime>,
}

impl StoredSigningKey {
    /// Whether it may be stored as a new key: `current` (activated, not retired) or `next`
    /// (neither), the only states a key is created in. Every adapter refuses the others.
    pub fn is_new_key(&self) -> bool {
        match self.state {
            KeyState::Current => self.activated_at.is_some() && self.retired_at.is_none(),
            KeyState::Next => self.activated_at.is_none() && self.retired_at.is_none(),
            KeyState::Retired | KeyState::Removed => false,
        }
    }

    /// What the rotation rules need of it.
    pub fn timeline(&self) -> KeyTimeline {
        KeyTimeline {
            kid: self.kid.clone(),
            state: self.state,
            created_at: self.created_at,
            activated_at: self.activated_at,
            retired_at: self.retired_at,
        }
    }
}

/// The signing keys, shared by every instance. At most one key is `current` and at most one
/// is `next` at any moment, whatever instances do at once: the store enforces it.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// Every key still published (not removed), oldest first.
    async fn published(&self) -> anyhow::Result<Vec<StoredSigningKey>>;

    /// When the first key of this deployment started signing (removed keys included): the
    /// moment tokens stopped being signed with the HS256 secret, if they ever were.
    async fn first_activated_at(&self) -> anyhow::Result<Option<OffsetDateTime>>;

    /// Stores a new key, `current` or `next`. `false`, storing nothing, when a key already
    /// holds that state: of two instances creating the first key at once, one wins and the
    /// other reads the winner's.
    async fn insert(&self, key: &StoredSigningKey) -> anyhow::Result<bool>;

    /// In one step: `retiring` (when given, and still current) becomes retired and `next`
    /// (still next) becomes current. `false`, changing nothing, when `next` is no longer the
    /// next key (another instance promoted it).
    async fn promote<'a>(
        &self,
        next: &str,
        retiring: Option<&'a str>,
        at: OffsetDateTime,
    ) -> anyhow::Result<bool>;

    /// A retired key leaves the JWKS for good, and its sealed private half is erased.
    /// `false` when it was not retired.
    async fn remove(&self, kid: &str, at: OffsetDateTime) -> anyhow::Result<bool>;

    /// A `next` key that must never sign (it was made for another algorithm) is removed,
    /// its sealed private half erased. `false` when it is not a next key.
    async fn discard_next(&self, kid: &str, at: OffsetDateTime) -> anyhow::Result<bool>;

    /// Replaces a published key's sealed private half `from` with `to` (the same key sealed
    /// under a new master key). `false`, changing nothing, when the key is not published or
    /// no longer holds `from`.
    async fn reseal(&self, kid: &str, from: &[u8], to: &[u8]) -> anyhow::Result<bool>;
}
