//! The wired services on in-memory adapters, end to end: what an embedder gets.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::sync::Arc;
use std::time::Duration;

use gatehouse_application::ports::UserRepository;
use gatehouse_application::{AppError, ClientInfo, LoginIdentifier, LoginInput, NewUserInput};
use gatehouse_memory::{Embedded, InMemoryPasswordHasher, ManualClock};
use secrecy::SecretString;
use time::macros::datetime;

fn secret(raw: &str) -> SecretString {
    raw.to_owned().into()
}

fn sign_up(email: &str, username: &str) -> NewUserInput {
    NewUserInput {
        email: email.into(),
        username: username.into(),
        password: secret("correct horse battery staple"),
        password_confirm: secret("correct horse battery staple"),
        first_name: None,
        last_name: None,
    }
}

fn login(email: &str, password: &str) -> LoginInput {
    LoginInput {
        identifier: LoginIdentifier::Email(email.into()),
        password: secret(password),
        client: ClientInfo::default(),
    }
}

fn gatehouse(clock: Arc<ManualClock>) -> Embedded {
    Embedded::builder()
        .password_cost(InMemoryPasswordHasher::TEST_COST)
        .clock(clock)
        .build()
        .unwrap()
}

#[tokio::test]
async fn sign_up_queues_a_verification_email_that_the_jobs_send() {
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-28 08:00 UTC)));
    let gatehouse = gatehouse(clock);
    let client = ClientInfo::default();
    let user = gatehouse
        .auth
        .register(sign_up("ada@example.com", "ada"), &client)
        .await
        .unwrap();
    assert!(
        gatehouse.mailer.sent().unwrap().is_empty(),
        "queued, not sent"
    );
    assert!(gatehouse.run_pending_jobs().await.unwrap() >= 1);
    let sent = gatehouse.mailer.sent().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "ada@example.com");
    assert!(
        sent[0]
            .link
            .as_deref()
            .is_some_and(|l| l.contains("token="))
    );
    let stored = gatehouse.users.find_by_id(user.id).await.unwrap().unwrap();
    assert!(
        !stored.is_verified,
        "verified only once the link is followed"
    );
}

#[tokio::test]
async fn tokens_work_until_they_expire_by_the_embedders_clock() {
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-28 08:00 UTC)));
    let gatehouse = gatehouse(clock.clone());
    let client = ClientInfo::default();
    let user = gatehouse
        .auth
        .register(sign_up("ada@example.com", "ada"), &client)
        .await
        .unwrap();
    let wrong = gatehouse
        .auth
        .login(login("ada@example.com", "wrong"))
        .await;
    assert!(
        matches!(wrong, Err(AppError::InvalidCredentials)),
        "{wrong:?}"
    );
    let tokens = gatehouse
        .auth
        .login(login("ada@example.com", "correct horse battery staple"))
        .await
        .unwrap()
        .tokens;
    let principal = gatehouse
        .tokens
        .authenticate(&tokens.access_token)
        .await
        .unwrap();
    assert_eq!(principal.user_id, user.id);
    assert!(
        gatehouse
            .tokens
            .authenticate(&tokens.refresh_token)
            .await
            .is_err()
    );

    clock.advance(Duration::from_secs(tokens.expires_in + 1));
    assert!(
        gatehouse
            .tokens
            .authenticate(&tokens.access_token)
            .await
            .is_err()
    );
}
