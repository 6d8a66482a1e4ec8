use std::collections::HashMap;

use async_trait::async_trait;
use gatehouse_application::ports::{CreditEntry, CreditError, CreditLedger};
use gatehouse_domain::UserId;

use crate::locked::Locked;
use crate::user_repository::InMemoryUserRepository;

/// [`CreditLedger`] in process memory, over the balances of an [`InMemoryUserRepository`]
/// (as the SQL ledger moves `users.credits`). The balance check, the move and the entry are
/// one step under the users' lock, so concurrent spends never take a balance below zero.
pub struct InMemoryCreditLedger {
    users: InMemoryUserRepository,
    entries: Locked<HashMap<UserId, Vec<CreditEntry>>>,
}

impl InMemoryCreditLedger {
    /// A ledger over the balances of `users`.
    pub fn new(users: &InMemoryUserRepository) -> Self {
        Self {
            users: users.clone(),
            entries: Locked::default(),
        }
    }
}

#[async_trait]
impl CreditLedger for InMemoryCreditLedger {
    async fn apply(&self, mut entry: CreditEntry) -> Result<CreditEntry, CreditError> {
        // Lock order: users, then entries (`recent` takes only the entries).
        self.users.state.with(|users| {
            let user = users
                .by_id
                .get_mut(&entry.user)
                .ok_or(CreditError::UnknownUser)?;
            let balance = user
                .credits
                .checked_add(entry.amount)
                .filter(|b| *b >= 0)
                .ok_or(CreditError::Insufficient)?;
            entry.balance_after = balance;
            self.entries
                .with(|entries| entries.entry(entry.user).or_default().push(entry.clone()))?;
            user.credits = balance;
            Ok(entry)
        })?
    }

    async fn recent(&self, user: UserId, limit: u64) -> anyhow::Result<Vec<CreditEntry>> {
        self.entries.with(|entries| {
            let mut list = entries.get(&user).cloned().unwrap_or_default();
            list.sort_by_key(|e| std::cmp::Reverse((e.created_at, e.id)));
            list.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            list
        })
    }
}
