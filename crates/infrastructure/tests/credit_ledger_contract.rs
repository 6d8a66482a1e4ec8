//! The `CreditLedger` contract, run against every adapter: in-memory, SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used)] // a test fails by panicking

mod support;

use gatehouse_application::ports::{CreditEntry, CreditError};
use gatehouse_domain::UserId;
use time::OffsetDateTime;
use uuid::Uuid;

use support::Backend;

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000 + seconds).unwrap()
}

fn entry(user: UserId, amount: i64, reason: &str, seconds: i64) -> CreditEntry {
    CreditEntry {
        id: Uuid::now_v7(),
        user,
        amount,
        balance_after: 0,
        reason: reason.into(),
        actor: None,
        created_at: at(seconds),
    }
}

async fn balance(db: &Backend, user: UserId) -> i64 {
    db.users().find_by_id(user).await.unwrap().unwrap().credits
}

async fn grants_and_spends_move_the_balance_and_are_listed_newest_first(db: Backend) {
    let ledger = db.credit_ledger();
    let ada = db.user("ada").await;
    let root = db.user("root").await;
    let grant = CreditEntry {
        actor: Some(root),
        ..entry(ada, 100, "welcome", 0)
    };
    let granted = ledger.apply(grant.clone()).await.unwrap();
    assert_eq!(granted.balance_after, 100);
    let spent = ledger.apply(entry(ada, -30, "coffee", 1)).await.unwrap();
    assert_eq!(spent.balance_after, 70);
    assert_eq!(balance(&db, ada).await, 70);

    let recent = ledger.recent(ada, 10).await.unwrap();
    assert_eq!(
        recent,
        vec![
            spent,
            CreditEntry {
                balance_after: 100,
                ..grant
            }
        ]
    );
    assert_eq!(ledger.recent(ada, 1).await.unwrap().len(), 1);
    assert!(ledger.recent(root, 10).await.unwrap().is_empty());
}

async fn an_uncovered_spend_changes_nothing(db: Backend) {
    let ledger = db.credit_ledger();
    let ada = db.user("ada").await;
    ledger.apply(entry(ada, 50, "welcome", 0)).await.unwrap();
    let refused = ledger.apply(entry(ada, -51, "too much", 1)).await;
    assert!(
        matches!(refused, Err(CreditError::Insufficient)),
        "{refused:?}"
    );
    assert_eq!(balance(&db, ada).await, 50);
    assert_eq!(ledger.recent(ada, 10).await.unwrap().len(), 1);
    let exact = ledger.apply(entry(ada, -50, "all of it", 2)).await.unwrap();
    assert_eq!(exact.balance_after, 0);
}

async fn entries_for_unknown_users_are_refused(db: Backend) {
    let ledger = db.credit_ledger();
    let ghost = UserId::from_uuid(Uuid::new_v4());
    let refused = ledger.apply(entry(ghost, 10, "ghost", 0)).await;
    assert!(
        matches!(refused, Err(CreditError::UnknownUser)),
        "{refused:?}"
    );
}

/// Twenty spends of 10 against a balance of 100, all at once: exactly ten go through.
async fn concurrent_spends_never_overdraw(db: Backend) {
    let ledger = db.credit_ledger();
    let ada = db.user("ada").await;
    ledger.apply(entry(ada, 100, "welcome", 0)).await.unwrap();
    let spends: Vec<_> = (0..20)
        .map(|i| {
            let ledger = ledger.clone();
            tokio::spawn(async move { ledger.apply(entry(ada, -10, "spend", 1 + i)).await })
        })
        .collect();
    let mut applied = 0;
    for spend in spends {
        match spend.await.unwrap() {
            Ok(_) => applied += 1,
            Err(CreditError::Insufficient) => {}
            Err(other) => panic!("a spend failed for another reason: {other:?}"),
        }
    }
    assert_eq!(applied, 10);
    assert_eq!(balance(&db, ada).await, 0);
    let entries = ledger.recent(ada, 100).await.unwrap();
    assert_eq!(entries.len(), 11);
    assert!(entries.iter().all(|e| e.balance_after >= 0));
}

database_contract!(
    grants_and_spends_move_the_balance_and_are_listed_newest_first,
    an_uncovered_spend_changes_nothing,
    entries_for_unknown_users_are_refused,
    concurrent_spends_never_overdraw,
);
