use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use gatehouse_application::ports::PasswordHasher;
use gatehouse_domain::{Password, PasswordHash};
use tokio::sync::Semaphore;

use crate::django_hashes::{StoredHash, classify};

/// bcrypt on tokio's blocking pool, which also reads the hashes of accounts imported from
/// Django (see [`crate::django_hashes`]) until their first sign-in replaces them. At most `max_concurrent` hashes run at once: a login flood
/// queues here instead of occupying every core, so the rest of the service stays responsive.
pub struct BcryptHasher {
    cost: u32,
    permits: Arc<Semaphore>,
    dummy_hash: String,
}

impl BcryptHasher {
    /// A hasher of this bcrypt cost (4..=31). Computes the dummy hash once, now.
    pub fn new(cost: u32, max_concurrent: usize) -> anyhow::Result<Self> {
        let dummy_hash = bcrypt::hash("gatehouse dummy password for timing", cost)
            .context("bcrypt cost out of range")?;
        Ok(Self {
            cost,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            dummy_hash,
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self.permits.acquire().await.context("hasher closed")?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(work))
            .await
            .context("hashing task failed")
    }
}

#[async_trait]
impl PasswordHasher for BcryptHasher {
    async fn hash(&self, password: &Password) -> anyhow::Result<PasswordHash> {
        let (password, cost) = (password.expose().to_owned(), self.cost);
        let hash = self.run(move || bcrypt::hash(password, cost)).await??;
        Ok(PasswordHash::new(hash))
    }

    async fn verify(&self, candidate: &str, hash: &PasswordHash) -> anyhow::Result<bool> {
        let (candidate, stored) = (candidate.to_owned(), hash.as_str().to_owned());
        let dummy = self.dummy_hash.clone();
        self.run(move || match classify(&stored) {
            StoredHash::Native(hash) => bcrypt::verify(&candidate, hash).unwrap_or_else(|error| {
                // A malformed stored hash opens nothing; a data problem worth a log line.
                tracing::error!(%error, "stored password hash is unreadable");
                false
            }),
            StoredHash::Django(hash) => hash.verify(&candidate),
            unusable_or_unknown => {
                if matches!(unusable_or_unknown, StoredHash::Unknown) {
                    tracing::error!("stored password hash is in no format this service reads");
                }
                // The same work as a wrong password: the answer's timing tells nothing.
                let _ = bcrypt::verify(&candidate, &dummy);
                false
            }
        })
        .await
    }

    fn needs_upgrade(&self, hash: &PasswordHash) -> bool {
        matches!(classify(hash.as_str()), StoredHash::Django(_))
    }

    async fn verify_dummy(&self, candidate: &str) -> anyhow::Result<()> {
        let (candidate, hash) = (candidate.to_owned(), self.dummy_hash.clone());
        let _ = self.run(move || bcrypt::verify(candidate, &hash)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_domain::{Email, PasswordPolicy, Username};

    fn password(raw: &str) -> Password {
        PasswordPolicy::default()
            .check(
                raw,
                &Email::parse("a@example.com").unwrap(),
                &Username::parse("abc").unwrap(),
            )
            .unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_and_reject_other_passwords() {
        let hasher = BcryptHasher::new(4, 2).unwrap();
        let hash = hasher.hash(&password("violet-tractor-42")).await.unwrap();
        assert!(hash.as_str().starts_with("$2b$04$"));
        assert!(hasher.verify("violet-tractor-42", &hash).await.unwrap());
        assert!(!hasher.verify("violet-tractor-43", &hash).await.unwrap());
        hasher.verify_dummy("anything").await.unwrap();
    }

    #[tokio::test]
    async fn a_corrupt_stored_hash_verifies_nothing() {
        let hasher = BcryptHasher::new(4, 1).unwrap();
        let corrupt = PasswordHash::new("not-a-bcrypt-hash".into());
        assert!(!hasher.verify("whatever", &corrupt).await.unwrap());
    }

    #[tokio::test]
    async fn imported_django_hashes_verify_and_ask_to_be_upgraded() {
        let hasher = BcryptHasher::new(4, 2).unwrap();
        let django = PasswordHash::new(
            "pbkdf2_sha256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=".into(),
        );
        assert!(hasher.verify("lètmein", &django).await.unwrap());
        assert!(!hasher.verify("letmein", &django).await.unwrap());
        assert!(hasher.needs_upgrade(&django));
        let own = hasher.hash(&password("violet-tractor-42")).await.unwrap();
        assert!(!hasher.needs_upgrade(&own));
        for unusable in ["!", "!abcdefghijklmnopqrstuvwxyz0123456789ABCD", ""] {
            let hash = PasswordHash::new(unusable.into());
            assert!(!hasher.verify("", &hash).await.unwrap());
            assert!(!hasher.verify("lètmein", &hash).await.unwrap());
            assert!(!hasher.needs_upgrade(&hash));
        }
    }

    #[test]
    fn refuses_an_invalid_cost() {
        assert!(BcryptHasher::new(2, 1).is_err());
    }
}
