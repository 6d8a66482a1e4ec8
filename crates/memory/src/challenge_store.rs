use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use gatehouse_application::ports::ChallengeStore;

use crate::locked::Locked;

/// [`ChallengeStore`] in process memory: each value with its deadline; `take` reads and
/// removes under one lock. Expired values are dropped as writes pass by.
#[derive(Default)]
pub struct InMemoryChallengeStore {
    values: Locked<HashMap<String, (String, Instant)>>,
}

impl InMemoryChallengeStore {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl ChallengeStore for InMemoryChallengeStore {
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()> {
        let now = Instant::now();
        self.values.with(|values| {
            values.retain(|_, (_, deadline)| *deadline > now);
            values.insert(key.to_owned(), (value.to_owned(), now + ttl));
        })
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<String>> {
        let now = Instant::now();
        self.values.with(|values| {
            values
                .get(key)
                .filter(|(_, deadline)| *deadline > now)
                .map(|(value, _)| value.clone())
        })
    }

    async fn take(&self, key: &str) -> anyhow::Result<Option<String>> {
        let now = Instant::now();
        self.values.with(|values| {
            values
                .remove(key)
                .filter(|(_, deadline)| *deadline > now)
                .map(|(value, _)| value)
        })
    }

    async fn remove(&self, key: &str) -> anyhow::Result<()> {
        self.values.with(|values| {
            values.remove(key);
        })
    }
}
