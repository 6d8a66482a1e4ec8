//! The `PreRegistrations` contract, run against every adapter: in-memory, SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used)] // a test fails by panicking

mod support;

use gatehouse_application::ports::PreRegistration;
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

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000 + seconds).unwrap()
}

/// Walking the list two at a time from the last address read gives every address once,
/// oldest first, the email breaking ties; an address added again keeps its first time.
async fn the_list_walks_in_pages_every_address_once_in_order(db: Backend) {
    let store = db.pre_registrations();
    assert!(store.list(None, 2).await.unwrap().is_empty());
    let added = [
        ("dora@example.com", 2),
        ("bob@example.com", 1),
        ("carl@example.com", 1),
        ("ada@example.com", 1),
        ("erin@example.com", 0),
        ("fay@example.com", 3),
        ("gus@example.com", 3),
    ];
    for (address, seconds) in added {
        assert!(store.add(&email(address), at(seconds)).await.unwrap());
    }
    assert!(!store.add(&email("ada@example.com"), at(9)).await.unwrap());
    let entry = |address: &str, seconds| PreRegistration {
        email: address.to_owned(),
        created_at: at(seconds),
    };
    let expected = vec![
        entry("erin@example.com", 0),
        entry("ada@example.com", 1),
        entry("bob@example.com", 1),
        entry("carl@example.com", 1),
        entry("dora@example.com", 2),
        entry("fay@example.com", 3),
        entry("gus@example.com", 3),
    ];

    let mut walked = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.list(walked.last(), 2).await.unwrap();
        assert!(page.len() <= 2);
        if page.is_empty() {
            break;
        }
        pages += 1;
        walked.extend(page);
    }
    assert_eq!(walked, expected);
    assert_eq!(pages, 4);
    assert_eq!(store.list(None, 100).await.unwrap(), expected);
    // After an address, the next one, even one that shares its instant.
    assert_eq!(
        store.list(Some(&expected[1]), 1).await.unwrap(),
        [expected[2].clone()]
    );
}

database_contract!(
    an_address_is_new_once,
    concurrent_adds_of_one_address_admit_one,
    the_list_walks_in_pages_every_address_once_in_order,
);
