use std::collections::HashMap;

use async_trait::async_trait;
use gatehouse_application::ports::{PreRegistration, PreRegistrations};
use gatehouse_domain::Email;
use time::OffsetDateTime;

use crate::locked::Locked;

/// [`PreRegistrations`] in process memory: each address once, with when it first came.
#[derive(Default)]
pub struct InMemoryPreRegistrations {
    emails: Locked<HashMap<Email, OffsetDateTime>>,
}

impl InMemoryPreRegistrations {
    /// No addresses yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every stored address, in order.
    pub fn addresses(&self) -> anyhow::Result<Vec<Email>> {
        self.emails.with(|emails| {
            let mut all: Vec<Email> = emails.keys().cloned().collect();
            all.sort();
            all
        })
    }
}

#[async_trait]
impl PreRegistrations for InMemoryPreRegistrations {
    async fn add(&self, email: &Email, at: OffsetDateTime) -> anyhow::Result<bool> {
        self.emails.with(|emails| {
            if emails.contains_key(email) {
                return false;
            }
            emails.insert(email.clone(), at);
            true
        })
    }

    async fn list<'a>(
        &self,
        after: Option<&'a PreRegistration>,
        limit: u64,
    ) -> anyhow::Result<Vec<PreRegistration>> {
        self.emails.with(|emails| {
            // Oldest first by `(created_at, email)`, strictly after the last one read: the
            // same walk as SQL's keyset.
            let mut listed: Vec<PreRegistration> = emails
                .iter()
                .map(|(email, at)| PreRegistration {
                    email: email.as_str().to_owned(),
                    created_at: *at,
                })
                .filter(|entry| {
                    after.is_none_or(|last| {
                        (entry.created_at, &entry.email) > (last.created_at, &last.email)
                    })
                })
                .collect();
            listed.sort_by(|a, b| (a.created_at, &a.email).cmp(&(b.created_at, &b.email)));
            listed.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            listed
        })
    }
}
