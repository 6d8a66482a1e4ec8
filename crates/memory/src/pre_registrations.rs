use std::collections::HashMap;

use async_trait::async_trait;
use gatehouse_application::ports::PreRegistrations;
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
}
