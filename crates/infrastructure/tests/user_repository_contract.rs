//! The `UserRepository` contract, run against every adapter: SQLite and PostgreSQL.

use std::collections::BTreeSet;

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
);
