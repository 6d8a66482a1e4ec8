use anyhow::Context;
use async_trait::async_trait;
use gatehouse_application::ports::PasswordHasher;
use gatehouse_domain::{Password, PasswordHash};

/// [`PasswordHasher`] with no service behind it: bcrypt (the `bcrypt` crate, the primitive
/// the production hasher uses too) on tokio's blocking pool, at a cost the embedder picks.
/// Hashes are ordinary bcrypt strings, so they stay valid if the embedder later moves its
/// users to the production adapter.
pub struct InMemoryPasswordHasher {
    cost: u32,
    dummy_hash: String,
}

impl InMemoryPasswordHasher {
    /// The production cost; each hash or check takes a few hundred milliseconds.
    pub const DEFAULT_COST: u32 = 12;

    /// bcrypt's lowest cost: for tests only, where speed matters and the hashes are thrown away.
    pub const TEST_COST: u32 = 4;

    /// A hasher of this bcrypt cost (4..=31). Computes the dummy hash once, now.
    pub fn new(cost: u32) -> anyhow::Result<Self> {
        let dummy_hash = bcrypt::hash("gatehouse dummy password for timing", cost)
            .context("bcrypt cost out of range")?;
        Ok(Self { cost, dummy_hash })
    }

    async fn run<T: Send + 'static>(
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(work))
            .await
            .context("hashing task failed")
    }
}

#[async_trait]
impl PasswordHasher for InMemoryPasswordHasher {
    async fn hash(&self, password: &Password) -> anyhow::Result<PasswordHash> {
        let (password, cost) = (password.expose().to_owned(), self.cost);
        let hash = Self::run(move || bcrypt::hash(password, cost)).await??;
        Ok(PasswordHash::new(hash))
    }

    async fn verify(&self, candidate: &str, hash: &PasswordHash) -> anyhow::Result<bool> {
        let (candidate, hash) = (candidate.to_owned(), hash.as_str().to_owned());
        // A malformed stored hash opens nothing.
        Ok(Self::run(move || bcrypt::verify(candidate, &hash))
            .await?
            .unwrap_or(false))
    }

    async fn verify_dummy(&self, candidate: &str) -> anyhow::Result<()> {
        let (candidate, hash) = (candidate.to_owned(), self.dummy_hash.clone());
        let _ = Self::run(move || bcrypt::verify(candidate, &hash)).await?;
        Ok(())
    }

    /// Only bcrypt is read here: nothing to upgrade from (imports need the service's hasher).
    fn needs_upgrade(&self, _hash: &PasswordHash) -> bool {
        false
    }
}
