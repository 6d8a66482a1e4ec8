//! The `UserRepository` contract, run against every adapter: SQLite and PostgreSQL.

use std::collections::BTreeSet;

use gatehouse_application::pagination::{Direction, Keyset, PageRequest};
use gatehouse_application::ports::{InsertUserError, UserRepository};
use gatehouse_domain::{Email, PasswordHash, Permission, Role, User, UserId, Username};
use gatehouse_infrastructure::database::{self, SeaOrmUserRepository};
use time::OffsetDateTime;

fn user(email: &str, username: &str) -> User {
    // Whole milliseconds: every backend stores at least that precision.
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
        + time::Duration::milliseconds(123);
    User::register(
        Email::parse(email).unwrap(),
        Username::parse(username).unwrap(),
        PasswordHash::new("$2b$04$abcdefghijklmnopqrstuu".into()),
        now,
    )
}

async fn round_trips_every_field(repo: SeaOrmUserRepository) {
    let mut jane = user("jane@example.com", "Jane_Doe");
    jane.first_name = "Jane".into();
    jane.last_name = "Doe".into();
    jane.role = Role::Admin;
    jane.permissions = BTreeSet::from([Permission::CanCreateUser]);
    jane.is_verified = true;
    repo.insert(&jane).await.unwrap();
    assert_eq!(repo.find_by_id(jane.id).await.unwrap(), Some(jane.clone()));
}

async fn finds_by_email_and_by_username_ignoring_case(repo: SeaOrmUserRepository) {
    let jane = user("jane@example.com", "Jane_Doe");
    repo.insert(&jane).await.unwrap();
    let by_email = repo
        .find_by_email(&Email::parse("JANE@example.com").unwrap())
        .await
        .unwrap();
    assert_eq!(by_email.map(|u| u.id), Some(jane.id));
    let by_name = repo
        .find_by_username(&Username::parse("jane_doe").unwrap())
        .await
        .unwrap();
    assert_eq!(by_name.map(|u| u.id), Some(jane.id));
}

async fn unknown_users_are_none(repo: SeaOrmUserRepository) {
    assert!(repo.find_by_id(UserId::generate()).await.unwrap().is_none());
    assert!(
        repo.find_by_email(&Email::parse("nobody@example.com").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        repo.find_by_username(&Username::parse("nobody").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

async fn duplicate_email_is_refused(repo: SeaOrmUserRepository) {
    repo.insert(&user("jane@example.com", "jane"))
        .await
        .unwrap();
    let err = repo
        .insert(&user("Jane@Example.com", "other"))
        .await
        .unwrap_err();
    assert!(matches!(err, InsertUserError::EmailTaken), "{err:?}");
}

async fn duplicate_username_ignoring_case_is_refused(repo: SeaOrmUserRepository) {
    repo.insert(&user("jane@example.com", "jane"))
        .await
        .unwrap();
    let err = repo
        .insert(&user("other@example.com", "JANE"))
        .await
        .unwrap_err();
    assert!(matches!(err, InsertUserError::UsernameTaken), "{err:?}");
}

async fn concurrent_registrations_of_one_email_admit_one(repo: SeaOrmUserRepository) {
    let attempts = (0..8).map(|i| {
        let repo = repo.clone();
        tokio::spawn(async move {
            repo.insert(&user("race@example.com", &format!("racer{i}")))
                .await
        })
    });
    let mut admitted = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(()) => admitted += 1,
            Err(InsertUserError::EmailTaken) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(admitted, 1);
}

async fn sqlite() -> (SeaOrmUserRepository, gatehouse_testing::TempSqlite) {
    let file = gatehouse_testing::TempSqlite::new();
    let db = database::open(&file.url(), 4, true).await.unwrap();
    (SeaOrmUserRepository::new(db), file)
}

/// Pages walk `(created_at, id)` newest first, both ways, ties broken by id; microsecond
/// timestamps (the finest PostgreSQL keeps) compare exactly on both backends.
async fn pages_walk_both_ways_in_keyset_order(repo: SeaOrmUserRepository) {
    let base = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let mut users = Vec::new();
    for n in 0..7i64 {
        let mut u = user(&format!("p{n}@example.com"), &format!("page{n}"));
        // Two users share each instant but the first: the id decides between them.
        u.created_at = base + time::Duration::microseconds(1 + n / 2 * 250_001);
        users.push(u.clone());
    }
    repo.insert_many(&users).await.unwrap();
    users.sort_by_key(|u| std::cmp::Reverse((u.created_at, u.id)));
    let expected: Vec<_> = users.iter().map(|u| u.id).collect();

    let mut walked = Vec::new();
    let mut request = PageRequest {
        from: None,
        limit: 3,
    };
    loop {
        let rows = repo.page(&request).await.unwrap();
        let more = rows.len() as u64 > request.limit;
        let page: Vec<_> = rows.into_iter().take(3).collect();
        walked.extend(page.iter().map(|u| u.id));
        let Some(last) = page.last().filter(|_| more) else {
            break;
        };
        let at = Keyset {
            created_at: last.created_at,
            id: last.id.as_uuid(),
        };
        request = PageRequest {
            from: Some((Direction::Older, at)),
            limit: 3,
        };
    }
    assert_eq!(walked, expected);

    let oldest = users.last().unwrap();
    let at = Keyset {
        created_at: oldest.created_at,
        id: oldest.id.as_uuid(),
    };
    let newer = repo
        .page(&PageRequest {
            from: Some((Direction::Newer, at)),
            limit: 3,
        })
        .await
        .unwrap();
    // limit + 1 rows, oldest first: the extra one says there is more.
    assert_eq!(newer.len(), 4);
    let newer: Vec<_> = newer.iter().take(3).map(|u| u.id).collect();
    assert_eq!(
        newer,
        expected[3..6].iter().rev().copied().collect::<Vec<_>>()
    );
}

async fn updates_leave_the_credit_balance_alone(repo: SeaOrmUserRepository) {
    let mut jane = user("jane@example.com", "jane");
    repo.insert(&jane).await.unwrap();
    jane.first_name = "Jane".into();
    jane.is_active = false;
    jane.credits = 1_000;
    assert!(repo.update(&jane).await.unwrap());
    let stored = repo.find_by_id(jane.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.first_name.as_str(), stored.is_active, stored.credits),
        ("Jane", false, 0)
    );
    let ghost = user("ghost@example.com", "ghost");
    assert!(!repo.update(&ghost).await.unwrap());
}

async fn postgres() -> Option<(SeaOrmUserRepository, gatehouse_testing::TestDatabase)> {
    let test_db = gatehouse_testing::postgres().await?;
    let db = database::open(&test_db.url, 8, true).await.unwrap();
    Some((SeaOrmUserRepository::new(db), test_db))
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (repo, _file) = super::sqlite().await;
                super::$case(repo).await;
            })*
        }
        mod on_postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((repo, _db)) = super::postgres().await else { return };
                super::$case(repo).await;
            })*
        }
    };
}

contract!(
    round_trips_every_field,
    finds_by_email_and_by_username_ignoring_case,
    unknown_users_are_none,
    duplicate_email_is_refused,
    duplicate_username_ignoring_case_is_refused,
    concurrent_registrations_of_one_email_admit_one,
    pages_walk_both_ways_in_keyset_order,
    updates_leave_the_credit_balance_alone,
);
