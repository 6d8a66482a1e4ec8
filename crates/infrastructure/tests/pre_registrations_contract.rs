//! The `PreRegistrations` contract, run against every adapter: in-memory, SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used)] // a test fails by panicking

mod support;

use gatehouse_domain::Email;
use time::OffsetDateTime;

use support::Backend;

fn email(raw: &str) -> Email {
    Email::parse(raw).unwrap()
}

async fn an_address_is_new_once(db: Backend) {
    let store = db.pre_registrations();
    let now = OffsetDateTime::now_utc();
    assert!(store.add(&email("ada@example.com"), now).await.unwrap());
    assert!(!store.add(&email("ada@example.com"), now).await.unwrap());
    // Addresses are stored normalised, so another spelling of the same one is not new.
    assert!(!store.add(&email("Ada@Example.com"), now).await.unwrap());
    assert!(store.add(&email("bob@example.com"), now).await.unwrap());
}

async fn concurrent_adds_of_one_address_admit_one(db: Backend) {
    let store = db.pre_registrations();
    let adds = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .add(&email("ada@example.com"), OffsetDateTime::now_utc())
                .await
                .unwrap()
        })
    });
    let mut new = 0;
    for add in adds.collect::<Vec<_>>() {
        new += usize::from(add.await.unwrap());
    }
    assert_eq!(new, 1);
}

database_contract!(
    an_address_is_new_once,
    concurrent_adds_of_one_address_admit_one
);
