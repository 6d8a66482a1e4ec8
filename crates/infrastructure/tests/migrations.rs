//! Instances that start together all migrate the same fresh database; they must take turns.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use gatehouse_infrastructure::database;
use sea_orm::{ConnectionTrait, Statement};

#[cfg_attr(
    gatehouse_no_postgres,
    ignore = "needs PostgreSQL: start it on 127.0.0.1:5432 or set GATEHOUSE_TEST_DATABASE_URL"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_migrate_one_after_another() {
    let Some(fresh) = gatehouse_testing::postgres().await else {
        return;
    };
    let starts = (0..4).map(|_| database::open(&fresh.url, 2, true));
    let opened = futures_util::future::join_all(starts).await;
    for result in &opened {
        assert!(result.is_ok(), "{:?}", result.as_ref().err());
    }
    let db = opened.into_iter().next().unwrap().unwrap();
    let applied = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT count(*) AS n FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert!(applied >= 5, "{applied} migrations recorded");
}
