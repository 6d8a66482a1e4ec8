//! The `Mailer` contract, run against every adapter: SMTP (to a real SMTP server listening on
//! a local port), the development file mailer and the in-memory one. What arrives is parsed
//! back as a mail client would (the in-memory mailer's messages are read back as kept).
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::path::PathBuf;
use std::time::Duration;

use gatehouse_application::ports::{EmailMessage, Mailer};
use gatehouse_infrastructure::mail::{FileMailer, SmtpMailer, parse_sender};
use gatehouse_testing::smtp::SmtpSink;

fn message(to: &str) -> EmailMessage {
    EmailMessage {
        to: to.into(),
        subject: "Confirm your email address — ünïcode".into(),
        text: "Hello,\n\nopen https://auth.example.test/verify-email?token=abc_DEF-123\n".into(),
        html: "<p>Hello,</p><p><a href=\"https://auth.example.test/verify-email?token=abc_DEF-123\">Confirm</a></p>".into(),
        link: Some("https://auth.example.test/verify-email?token=abc_DEF-123".into()),
    }
}

/// Where an adapter's deliveries can be read back, raw.
enum Mailbox {
    Smtp(SmtpSink),
    Files(PathBuf),
}

impl Mailbox {
    async fn delivered(&self) -> Vec<Vec<u8>> {
        match self {
            Mailbox::Smtp(sink) => sink
                .wait_for(1, Duration::from_secs(5))
                .await
                .into_iter()
                .map(|m| m.data.into_bytes())
                .collect(),
            Mailbox::Files(dir) => std::fs::read_dir(dir)
                .map(|entries| {
                    entries
                        .filter_map(Result::ok)
                        .filter(|e| e.path().extension().is_some_and(|ext| ext == "eml"))
                        .filter_map(|e| std::fs::read(e.path()).ok())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

async fn a_message_arrives_whole(mailer: Box<dyn Mailer>, mailbox: Mailbox) {
    mailer.send(&message("ada@example.com")).await.unwrap();
    let delivered = mailbox.delivered().await;
    assert_eq!(delivered.len(), 1);
    let parsed = mail_parser::MessageParser::default()
        .parse(&delivered[0])
        .unwrap();
    let address = |a: Option<&mail_parser::Address>| {
        a.and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_owned)
    };
    assert_eq!(address(parsed.to()).as_deref(), Some("ada@example.com"));
    assert_eq!(address(parsed.from()).as_deref(), Some("auth@example.test"));
    assert_eq!(
        parsed.subject(),
        Some("Confirm your email address — ünïcode")
    );
    assert_eq!(parsed.text_body_count(), 1);
    assert_eq!(parsed.html_body_count(), 1);
    let text = parsed.body_text(0).unwrap();
    let html = parsed.body_html(0).unwrap();
    assert!(text.contains("https://auth.example.test/verify-email?token=abc_DEF-123"));
    assert!(html.contains("<a href=\"https://auth.example.test/verify-email?token=abc_DEF-123\">"));
}

async fn a_bad_recipient_is_an_error_and_sends_nothing(mailer: Box<dyn Mailer>, mailbox: Mailbox) {
    assert!(mailer.send(&message("not an address")).await.is_err());
    if let Mailbox::Smtp(sink) = &mailbox {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(sink.messages().is_empty());
    } else {
        assert!(mailbox.delivered().await.is_empty());
    }
}

fn sender() -> lettre::message::Mailbox {
    parse_sender("Gatehouse <auth@example.test>").unwrap()
}

async fn smtp() -> (Box<dyn Mailer>, Mailbox) {
    let sink = SmtpSink::start().await;
    let mailer = SmtpMailer::new(&sink.url, sender()).unwrap();
    (Box::new(mailer), Mailbox::Smtp(sink))
}

async fn files() -> (Box<dyn Mailer>, Mailbox) {
    let dir = std::env::temp_dir().join(format!("gatehouse-mailer-{}", uuid::Uuid::new_v4()));
    (
        Box::new(FileMailer::new(&dir, sender())),
        Mailbox::Files(dir),
    )
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod over_smtp {
            $(#[tokio::test]
            async fn $case() {
                let (mailer, mailbox) = super::smtp().await;
                super::$case(mailer, mailbox).await;
            })*
        }
        mod to_files {
            $(#[tokio::test]
            async fn $case() {
                let (mailer, mailbox) = super::files().await;
                super::$case(mailer, mailbox).await;
            })*
        }
    };
}

contract!(
    a_message_arrives_whole,
    a_bad_recipient_is_an_error_and_sends_nothing
);

#[tokio::test]
async fn an_unreachable_smtp_server_is_an_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("smtp://{}", closed.local_addr().unwrap());
    drop(closed);
    let mailer = SmtpMailer::new(&url, sender()).unwrap();
    let error = mailer.send(&message("ada@example.com")).await.unwrap_err();
    assert!(format!("{error:#}").contains("SMTP"));
}

/// The in-memory mailer keeps messages instead of rendering them: the same two promises,
/// read back from what it kept.
mod in_memory {
    use gatehouse_application::ports::Mailer;
    use gatehouse_memory::InMemoryMailer;

    #[tokio::test]
    async fn a_message_arrives_whole() {
        let mailer = InMemoryMailer::new();
        let sent = super::message("ada@example.com");
        mailer.send(&sent).await.unwrap();
        assert_eq!(mailer.sent().unwrap(), vec![sent]);
    }

    #[tokio::test]
    async fn a_bad_recipient_is_an_error_and_sends_nothing() {
        let mailer = InMemoryMailer::new();
        let refused = mailer.send(&super::message("not an address")).await;
        assert!(refused.is_err());
        assert!(mailer.sent().unwrap().is_empty());
    }
}
