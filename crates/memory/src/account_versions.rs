use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use gatehouse_application::ports::AccountVersions;
use gatehouse_domain::UserId;

use crate::locked::Locked;

/// [`AccountVersions`] in this process: the versions of one instance that is the whole
/// deployment (the embedded default). Never forgets a version; versions start at 0 (copies
/// live in this process too, and die with it).
#[derive(Debug, Default)]
pub struct InMemoryAccountVersions {
    versions: Locked<HashMap<UserId, u64>>,
    directory: AtomicU64,
}

impl InMemoryAccountVersions {
    /// No account written yet.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl AccountVersions for InMemoryAccountVersions {
    async fn current(&self, user: UserId) -> anyhow::Result<u64> {
        self.versions
            .with(|versions| versions.get(&user).copied().unwrap_or(0))
    }

    async fn bump(&self, user: UserId) -> anyhow::Result<u64> {
        self.versions.with(|versions| {
            let version = versions.entry(user).or_insert(0);
            *version += 1;
            *version
        })
    }

    async fn directory(&self) -> anyhow::Result<u64> {
        Ok(self.directory.load(Ordering::SeqCst))
    }

    async fn bump_directory(&self) -> anyhow::Result<()> {
        self.directory.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}
