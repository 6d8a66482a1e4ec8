//! The wired services on in-memory adapters, end to end: what an embedder gets.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::sync::Arc;
use std::time::Duration;

use gatehouse_application::ports::UserRepository;
use gatehouse_application::{
    AppError, ClientInfo, FactorProof, LoginIdentifier, LoginInput, LoginOutcome, NewUserInput,
    SignIn,
};
use gatehouse_memory::{Embedded, InMemoryPasswordHasher, ManualClock};
use secrecy::{ExposeSecret, SecretString};
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
        .unwrap();
    let SignIn::Complete(LoginOutcome { tokens, .. }) = tokens else {
        panic!("no second factor was enrolled")
    };
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

/// The code an authenticator app holding `secret` (base32) shows at the clock's time.
fn code(secret: &str, clock: &ManualClock) -> String {
    use gatehouse_application::ports::Clock;
    let bytes = totp_rs::Secret::try_from_base32(secret).unwrap().to_vec();
    let totp = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(bytes)
        .build()
        .unwrap();
    totp.generate(clock.now().unix_timestamp() as u64)
        .to_string()
}

#[tokio::test]
async fn an_embedder_enrols_an_authenticator_app_and_signs_in_with_it_or_a_recovery_code() {
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-28 12:00:00 UTC)));
    let gatehouse = gatehouse(clock.clone());
    let client = ClientInfo::default();
    gatehouse
        .auth
        .register(sign_up("ada@example.com", "ada"), &client)
        .await
        .unwrap();
    let password = "correct horse battery staple";
    let SignIn::Complete(first) = gatehouse
        .auth
        .login(login("ada@example.com", password))
        .await
        .unwrap()
    else {
        panic!("no factor yet")
    };
    let principal = gatehouse
        .tokens
        .authenticate(&first.tokens.access_token)
        .await
        .unwrap();
    let enrolment = gatehouse
        .factors
        .start_totp(&principal, &secret(password))
        .await
        .unwrap();
    let shown = enrolment.secret.expose_secret().to_owned();
    let recovery = gatehouse
        .factors
        .confirm_totp(&principal, &code(&shown, &clock))
        .await
        .unwrap();
    assert_eq!(recovery.len(), 10);

    let challenge = match gatehouse
        .auth
        .login(login("ada@example.com", password))
        .await
        .unwrap()
    {
        SignIn::SecondFactor(challenge) => challenge,
        SignIn::Complete(_) => panic!("the password alone signed in"),
    };
    assert_eq!(challenge.methods, ["totp", "recovery_code"]);
    // The confirming code was accepted once; the same step is refused.
    let replay = FactorProof::Code(code(&shown, &clock));
    let refused = gatehouse
        .auth
        .complete_login(&challenge.mfa_token, replay, &client)
        .await;
    assert!(
        matches!(refused, Err(AppError::InvalidCredentials)),
        "{refused:?}"
    );
    clock.advance(Duration::from_secs(30));
    let signed_in = gatehouse
        .auth
        .complete_login(
            &challenge.mfa_token,
            FactorProof::Code(code(&shown, &clock)),
            &client,
        )
        .await
        .unwrap();
    let claims = gatehouse
        .tokens
        .authenticate(&signed_in.tokens.access_token)
        .await
        .unwrap();
    assert_eq!(claims.user_id, signed_in.user.id);

    // Phone lost: a recovery code signs in once.
    let SignIn::SecondFactor(challenge) = gatehouse
        .auth
        .login(login("ada@example.com", password))
        .await
        .unwrap()
    else {
        panic!("the password alone signed in")
    };
    let typed = recovery[0].expose_secret().to_owned();
    gatehouse
        .auth
        .complete_login(
            &challenge.mfa_token,
            FactorProof::Code(typed.clone()),
            &client,
        )
        .await
        .unwrap();
    let SignIn::SecondFactor(again) = gatehouse
        .auth
        .login(login("ada@example.com", password))
        .await
        .unwrap()
    else {
        panic!("the password alone signed in")
    };
    let reused = gatehouse
        .auth
        .complete_login(&again.mfa_token, FactorProof::Code(typed), &client)
        .await;
    assert!(
        matches!(reused, Err(AppError::InvalidCredentials)),
        "{reused:?}"
    );
}
