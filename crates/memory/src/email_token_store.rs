use std::collections::HashMap;

use async_trait::async_trait;
use gatehouse_application::ports::{EmailTokenStore, TokenPurpose};
use gatehouse_domain::UserId;
use time::OffsetDateTime;

use crate::locked::Locked;

struct Issued {
    user: UserId,
    purpose: TokenPurpose,
    expires_at: OffsetDateTime,
}

/// [`EmailTokenStore`] in process memory, keyed by digest. `consume` checks and removes
/// under one lock: a token is used up by exactly one caller.
#[derive(Default)]
pub struct InMemoryEmailTokenStore {
    tokens: Locked<HashMap<String, Issued>>,
}

impl InMemoryEmailTokenStore {
    /// No tokens yet.
    pub fn new() -> Self {
        Self::default()
    }
}

fn live(issued: &Issued, purpose: TokenPurpose, now: OffsetDateTime) -> bool {
    issued.purpose == purpose && issued.expires_at > now
}

#[async_trait]
impl EmailTokenStore for InMemoryEmailTokenStore {
    async fn issue(
        &self,
        digest: &str,
        user: UserId,
        purpose: TokenPurpose,
        created_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> anyhow::Result<()> {
        self.tokens.with(|tokens| {
            // Tokens expired by the caller's clock are dead anyway; forgetting them keeps
            // memory bounded.
            tokens.retain(|_, t| t.expires_at > created_at);
            anyhow::ensure!(!tokens.contains_key(digest), "this token digest exists");
            let issued = Issued {
                user,
                purpose,
                expires_at,
            };
            tokens.insert(digest.to_owned(), issued);
            Ok(())
        })?
    }

    async fn find(
        &self,
        digest: &str,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> anyhow::Result<Option<UserId>> {
        self.tokens.with(|tokens| {
            tokens
                .get(digest)
                .filter(|t| live(t, purpose, now))
                .map(|t| t.user)
        })
    }

    async fn consume(
        &self,
        digest: &str,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> anyhow::Result<Option<UserId>> {
        self.tokens.with(|tokens| {
            if !tokens.get(digest).is_some_and(|t| live(t, purpose, now)) {
                return None;
            }
            tokens.remove(digest).map(|t| t.user)
        })
    }

    async fn discard_all(&self, user: UserId, purpose: TokenPurpose) -> anyhow::Result<()> {
        self.tokens.with(|tokens| {
            tokens.retain(|_, t| !(t.user == user && t.purpose == purpose));
        })
    }
}
