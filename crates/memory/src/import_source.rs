use async_trait::async_trait;
use gatehouse_application::ports::{ForeignAccount, ImportSource};

/// [`ImportSource`] over accounts held in memory (an embedding's own list, or tests).
#[derive(Debug, Clone, Default)]
pub struct InMemoryImportSource {
    accounts: Vec<ForeignAccount>,
}

impl InMemoryImportSource {
    /// A source of these accounts (any order; batches walk them by id).
    pub fn new(mut accounts: Vec<ForeignAccount>) -> Self {
        accounts.sort_by_key(|a| a.id);
        Self { accounts }
    }
}

#[async_trait]
impl ImportSource for InMemoryImportSource {
    async fn count(&self) -> anyhow::Result<u64> {
        Ok(self.accounts.len() as u64)
    }

    async fn batch(&self, after: Option<i64>, limit: u64) -> anyhow::Result<Vec<ForeignAccount>> {
        Ok(self
            .accounts
            .iter()
            .filter(|a| after.is_none_or(|after| a.id > after))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .cloned()
            .collect())
    }
}
