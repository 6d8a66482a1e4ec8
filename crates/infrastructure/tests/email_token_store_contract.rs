//! The `EmailTokenStore` contract, run against every adapter: in-memory, SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used)] // a test fails by panicking

mod support;

use gatehouse_application::ports::TokenPurpose;
use time::{Duration, OffsetDateTime};

use support::Backend;

const NOW: i64 = 1_800_000_000;

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW + seconds).unwrap()
}

async fn a_token_works_once_and_for_its_purpose_only(db: Backend) {
    let store = db.email_tokens();
    let ada = db.user("ada").await;
    store
        .issue(
            "digest-a",
            ada,
            TokenPurpose::PasswordReset,
            at(0),
            at(3600),
        )
        .await
        .unwrap();
    let verification = TokenPurpose::Verification;
    assert_eq!(
        store.find("digest-a", verification, at(1)).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .consume("digest-a", verification, at(1))
            .await
            .unwrap(),
        None
    );

    let reset = TokenPurpose::PasswordReset;
    assert_eq!(
        store.find("digest-a", reset, at(1)).await.unwrap(),
        Some(ada)
    );
    assert_eq!(
        store.find("digest-a", reset, at(1)).await.unwrap(),
        Some(ada),
        "find does not use it up"
    );
    assert_eq!(
        store.consume("digest-a", reset, at(2)).await.unwrap(),
        Some(ada)
    );
    assert_eq!(store.consume("digest-a", reset, at(3)).await.unwrap(), None);
    assert_eq!(store.find("digest-a", reset, at(3)).await.unwrap(), None);
    assert_eq!(store.find("unknown", reset, at(3)).await.unwrap(), None);
}

async fn expired_tokens_do_nothing(db: Backend) {
    let store = db.email_tokens();
    let ada = db.user("ada").await;
    let purpose = TokenPurpose::Verification;
    store
        .issue("digest-e", ada, purpose, at(0), at(60))
        .await
        .unwrap();
    assert_eq!(
        store.find("digest-e", purpose, at(59)).await.unwrap(),
        Some(ada)
    );
    assert_eq!(store.find("digest-e", purpose, at(60)).await.unwrap(), None);
    assert_eq!(
        store.consume("digest-e", purpose, at(61)).await.unwrap(),
        None
    );
}

async fn concurrent_uses_admit_one(db: Backend) {
    let store = db.email_tokens();
    let ada = db.user("ada").await;
    let purpose = TokenPurpose::PasswordReset;
    store
        .issue("digest-c", ada, purpose, at(0), at(3600))
        .await
        .unwrap();
    let attempts = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.consume("digest-c", purpose, at(1)).await.unwrap() })
    });
    let mut winners = 0;
    for attempt in attempts {
        winners += usize::from(attempt.await.unwrap().is_some());
    }
    assert_eq!(winners, 1);
}

async fn discarding_ends_one_users_tokens_of_one_purpose(db: Backend) {
    let store = db.email_tokens();
    let (ada, bob) = (db.user("ada").await, db.user("bob").await);
    let (reset, verify) = (TokenPurpose::PasswordReset, TokenPurpose::Verification);
    for (digest, user, purpose) in [
        ("r1", ada, reset),
        ("r2", ada, reset),
        ("v1", ada, verify),
        ("r3", bob, reset),
    ] {
        store
            .issue(digest, user, purpose, at(0), at(0) + Duration::hours(1))
            .await
            .unwrap();
    }
    store.discard_all(ada, reset).await.unwrap();
    assert_eq!(store.find("r1", reset, at(1)).await.unwrap(), None);
    assert_eq!(store.find("r2", reset, at(1)).await.unwrap(), None);
    assert_eq!(store.find("v1", verify, at(1)).await.unwrap(), Some(ada));
    assert_eq!(store.find("r3", reset, at(1)).await.unwrap(), Some(bob));
}

database_contract!(
    a_token_works_once_and_for_its_purpose_only,
    expired_tokens_do_nothing,
    concurrent_uses_admit_one,
    discarding_ends_one_users_tokens_of_one_purpose,
);
