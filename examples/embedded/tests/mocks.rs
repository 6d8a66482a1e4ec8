//! The application crate's `mock` feature, used from outside it: a service driven by the
//! mockall mocks of its ports, next to the same service on the in-memory adapters.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::sync::Arc;

use gatehouse_application::ports::{
    InsertUserError, MockClock, MockPasswordHasher, MockUserRepository,
};
use gatehouse_application::{AppError, NewUserInput, UserService};
use gatehouse_domain::{PasswordHash, PasswordPolicy};
use gatehouse_memory::{InMemoryPasswordHasher, InMemoryUserRepository, ManualClock};
use time::macros::datetime;

fn input(email: &str, username: &str) -> NewUserInput {
    let secret = || "correct horse battery staple".to_owned().into();
    NewUserInput {
        email: email.into(),
        username: username.into(),
        password: secret(),
        password_confirm: secret(),
        first_name: None,
        last_name: None,
    }
}

#[tokio::test]
async fn registration_on_mocks_hashes_then_stores_at_the_clocks_time() {
    let now = datetime!(2026-11-28 08:00 UTC);
    let mut clock = MockClock::new();
    clock.expect_now().return_const(now);
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .times(1)
        .returning(|_| Ok(PasswordHash::new("$2b$04$mocked".into())));
    let mut users = MockUserRepository::new();
    users
        .expect_insert()
        .withf(move |user| user.created_at == now && user.password_hash.as_str() == "$2b$04$mocked")
        .times(1)
        .returning(|_| Ok(()));
    let accounts = UserService::new(
        Arc::new(users),
        Arc::new(hasher),
        Arc::new(clock),
        PasswordPolicy::default(),
    );
    let user = accounts
        .register(input("ada@example.com", "ada"))
        .await
        .unwrap();
    assert_eq!(user.username.as_str(), "ada");
}

#[tokio::test]
async fn a_taken_email_is_a_conflict_on_mocks_and_in_memory_alike() {
    let mut users = MockUserRepository::new();
    users
        .expect_insert()
        .returning(|_| Err(InsertUserError::EmailTaken));
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .returning(|_| Ok(PasswordHash::new("$2b$04$mocked".into())));
    let mut clock = MockClock::new();
    clock
        .expect_now()
        .return_const(datetime!(2026-11-28 08:00 UTC));
    let on_mocks = UserService::new(
        Arc::new(users),
        Arc::new(hasher),
        Arc::new(clock),
        PasswordPolicy::default(),
    );
    let in_memory = UserService::new(
        Arc::new(InMemoryUserRepository::new()),
        Arc::new(InMemoryPasswordHasher::new(InMemoryPasswordHasher::TEST_COST).unwrap()),
        Arc::new(ManualClock::new(datetime!(2026-11-28 08:00 UTC))),
        PasswordPolicy::default(),
    );
    in_memory
        .register(input("ada@example.com", "ada"))
        .await
        .unwrap();
    for accounts in [on_mocks, in_memory] {
        let refused = accounts.register(input("ada@example.com", "ada2")).await;
        assert!(
            matches!(refused, Err(AppError::Conflict { field: "email", .. })),
            "{refused:?}"
        );
    }
}
