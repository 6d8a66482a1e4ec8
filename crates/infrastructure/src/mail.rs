//! [`Mailer`] adapters: SMTP through lettre, and a development mailer that writes `.eml` files.

use std::path::PathBuf;

use anyhow::Context;
use async_trait::async_trait;
use gatehouse_application::ports::{EmailMessage, Mailer};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use uuid::Uuid;

/// Builds the MIME message: `multipart/alternative` with the text and HTML parts.
fn mime(from: &Mailbox, message: &EmailMessage) -> anyhow::Result<Message> {
    let to: Mailbox = message
        .to
        .parse()
        .with_context(|| format!("invalid recipient {:?}", message.to))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(message.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            message.text.clone(),
            message.html.clone(),
        ))
        .context("cannot build the email")
}

/// Parses a `From` header value such as `Gatehouse <no-reply@example.com>`.
pub fn parse_sender(from: &str) -> anyhow::Result<Mailbox> {
    from.parse()
        .with_context(|| format!("invalid sender address {from:?}"))
}

/// Sends through an SMTP server. `smtp://host:port` upgrades with STARTTLS when the server
/// offers it, `smtps://` speaks TLS from the start; credentials come from the URL
/// (`smtp://user:password@host`). Connections are pooled.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for the server at `url`, sending as `from`.
    pub fn new(url: &str, from: Mailbox) -> anyhow::Result<Self> {
        let url = if url.starts_with("smtp://") && !url.contains("tls=") {
            let separator = if url.contains('?') { '&' } else { '?' };
            format!("{url}{separator}tls=opportunistic")
        } else {
            url.to_owned()
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            .context("invalid GATEHOUSE_SMTP_URL")?
            .build();
        Ok(Self { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: &EmailMessage) -> anyhow::Result<()> {
        let email = mime(&self.from, message)?;
        self.transport
            .send(email)
            .await
            .context("the SMTP server did not accept the email")?;
        Ok(())
    }
}

/// The embedded default: each email becomes an `.eml` file in a directory (its path is
/// logged), so a local sign-up can be completed without a mail server. Not for production.
pub struct FileMailer {
    directory: PathBuf,
    from: Mailbox,
}

impl FileMailer {
    /// A mailer writing into `directory` (created on first use).
    pub fn new(directory: impl Into<PathBuf>, from: Mailbox) -> Self {
        Self {
            directory: directory.into(),
            from,
        }
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, message: &EmailMessage) -> anyhow::Result<()> {
        let email = mime(&self.from, message)?;
        tokio::fs::create_dir_all(&self.directory)
            .await
            .with_context(|| format!("cannot create {}", self.directory.display()))?;
        // Written aside and renamed, so a reader of the directory never sees half a message.
        let name = Uuid::now_v7();
        let partial = self.directory.join(format!(".{name}.eml.partial"));
        let path = self.directory.join(format!("{name}.eml"));
        tokio::fs::write(&partial, email.formatted())
            .await
            .with_context(|| format!("cannot write {}", partial.display()))?;
        tokio::fs::rename(&partial, &path)
            .await
            .with_context(|| format!("cannot write {}", path.display()))?;
        // The link carries a single-use token: it stays in the file, out of the logs.
        tracing::info!(
            to = message.to,
            subject = message.subject,
            file = %path.display(),
            "email written (development mailer)"
        );
        Ok(())
    }
}
