use async_trait::async_trait;
use gatehouse_application::ports::{SigningKeyStore, StoredSigningKey};
use gatehouse_domain::KeyState;
use time::OffsetDateTime;

use crate::locked::Locked;

/// [`SigningKeyStore`] in process memory: "one current, one next" decided under one lock,
/// as the database's unique indexes decide it.
#[derive(Default)]
pub struct InMemorySigningKeyStore {
    keys: Locked<Vec<StoredSigningKey>>,
}

impl InMemorySigningKeyStore {
    /// No keys yet.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl SigningKeyStore for InMemorySigningKeyStore {
    async fn published(&self) -> anyhow::Result<Vec<StoredSigningKey>> {
        self.keys.with(|keys| {
            let mut published: Vec<StoredSigningKey> = keys
                .iter()
                .filter(|k| k.state.is_published())
                .cloned()
                .collect();
            published.sort_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
            published
        })
    }

    async fn first_activated_at(&self) -> anyhow::Result<Option<OffsetDateTime>> {
        self.keys
            .with(|keys| keys.iter().filter_map(|k| k.activated_at).min())
    }

    async fn insert(&self, key: &StoredSigningKey) -> anyhow::Result<bool> {
        anyhow::ensure!(
            key.is_new_key(),
            "a new signing key is current (activated) or next (not yet)"
        );
        self.keys.with(|keys| {
            if keys
                .iter()
                .any(|k| k.kid == key.kid || k.state == key.state)
            {
                return false;
            }
            keys.push(key.clone());
            true
        })
    }

    async fn promote<'a>(
        &self,
        next: &str,
        retiring: Option<&'a str>,
        at: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        self.keys.with(|keys| {
            let is_next = |k: &StoredSigningKey| k.kid == next && k.state == KeyState::Next;
            if !keys.iter().any(is_next) {
                return false;
            }
            let retires = |k: &StoredSigningKey| {
                retiring.is_some_and(|kid| k.kid == kid) && k.state == KeyState::Current
            };
            let other_current = keys
                .iter()
                .any(|k| k.state == KeyState::Current && !retires(k));
            if other_current {
                return false;
            }
            for key in keys.iter_mut() {
                if retires(key) {
                    key.state = KeyState::Retired;
                    key.retired_at = Some(at);
                } else if is_next(key) {
                    key.state = KeyState::Current;
                    key.activated_at = Some(at);
                }
            }
            true
        })
    }

    async fn remove(&self, kid: &str, _at: OffsetDateTime) -> anyhow::Result<bool> {
        self.keys.with(|keys| {
            match keys
                .iter_mut()
                .find(|k| k.kid == kid && k.state == KeyState::Retired)
            {
                Some(key) => {
                    key.state = KeyState::Removed;
                    key.sealed_private_key.clear();
                    true
                }
                None => false,
            }
        })
    }

    async fn discard_next(&self, kid: &str, _at: OffsetDateTime) -> anyhow::Result<bool> {
        self.keys.with(|keys| {
            match keys
                .iter_mut()
                .find(|k| k.kid == kid && k.state == KeyState::Next)
            {
                Some(key) => {
                    key.state = KeyState::Removed;
                    key.sealed_private_key.clear();
                    true
                }
                None => false,
            }
        })
    }

    async fn reseal(&self, kid: &str, from: &[u8], to: &[u8]) -> anyhow::Result<bool> {
        self.keys.with(|keys| {
            match keys.iter_mut().find(|k| {
                k.kid == kid && k.state != KeyState::Removed && k.sealed_private_key == from
            }) {
                Some(key) => {
                    key.sealed_private_key = to.to_vec();
                    true
                }
                None => false,
            }
        })
    }
}
