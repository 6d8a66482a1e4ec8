use async_trait::async_trait;
use gatehouse_application::ports::{EmailMessage, Mailer};
use gatehouse_domain::Email;

use crate::locked::Locked;

/// [`Mailer`] that keeps every message it accepts, in order, for the embedder or the test to
/// read back ([`sent`](Self::sent)). Like the SMTP mailer, it refuses a recipient that is not
/// an address, and then keeps nothing.
#[derive(Default)]
pub struct InMemoryMailer {
    sent: Locked<Vec<EmailMessage>>,
}

impl InMemoryMailer {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message accepted so far, oldest first.
    pub fn sent(&self) -> anyhow::Result<Vec<EmailMessage>> {
        self.sent.with(|sent| sent.clone())
    }
}

#[async_trait]
impl Mailer for InMemoryMailer {
    async fn send(&self, message: &EmailMessage) -> anyhow::Result<()> {
        Email::parse(&message.to)
            .map_err(|e| anyhow::anyhow!("bad recipient {:?}: {e}", message.to))?;
        self.sent.with(|sent| sent.push(message.clone()))
    }
}
