//! What the database-backed contract suites share: a fresh database on each engine, a user to
//! hang rows on, and the macro that runs every case on both.

use gatehouse_application::ports::UserRepository;
use gatehouse_domain::{Email, PasswordHash, User, UserId, Username};
use gatehouse_infrastructure::database::{self, Connection, SeaOrmUserRepository};
use time::OffsetDateTime;

/// A migrated SQLite database in a temporary file (kept while the file handle lives).
pub async fn sqlite() -> (Connection, gatehouse_testing::TempSqlite) {
    let file = gatehouse_testing::TempSqlite::new();
    (database::open(&file.url(), 4, true).await.unwrap(), file)
}

/// A migrated PostgreSQL database of its own, or `None` when no server can be had.
pub async fn postgres() -> Option<(Connection, gatehouse_testing::TestDatabase)> {
    let test_db = gatehouse_testing::postgres().await?;
    Some((
        database::open(&test_db.url, 8, true).await.unwrap(),
        test_db,
    ))
}

/// Stores a user named `name` (rows of other tables point at users).
pub async fn user(db: &Connection, name: &str) -> UserId {
    let user = User::register(
        Email::parse(&format!("{name}@example.com")).unwrap(),
        Username::parse(name).unwrap(),
        PasswordHash::new("$2b$04$abcdefghijklmnopqrstuu".into()),
        OffsetDateTime::now_utc(),
    );
    SeaOrmUserRepository::new(db.clone())
        .insert(&user)
        .await
        .unwrap();
    user.id
}

/// Runs each `async fn(Connection)` case on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! database_contract {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (db, _file) = $crate::support::sqlite().await;
                super::$case(db).await;
            })*
        }
        mod on_postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((db, _test_db)) = $crate::support::postgres().await else { return };
                super::$case(db).await;
            })*
        }
    };
}
