//! The mailer port: sends one rendered email (SMTP in production, a folder in development).

use async_trait::async_trait;

/// One email, both parts rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailMessage {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
    /// The link the email asks the reader to follow, if any. The development mailer logs it
    /// so a local sign-up can be finished without a mail client.
    pub link: Option<String>,
}

/// Delivers rendered emails. A refusal is reported, not swallowed: the job runner retries
/// the `send_email` job that asked.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Hands `message` over for delivery; an error means it was not accepted.
    async fn send(&self, message: &EmailMessage) -> anyhow::Result<()>;
}
