//! The `HealthProbe` contract: a stable name, and a check that succeeds while the dependency
//! answers and fails when it does not. Run against the database probe (SQLite, PostgreSQL),
//! the Redis probe and the in-memory probes.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::sync::Arc;

use gatehouse_application::ports::HealthProbe;
use gatehouse_infrastructure::database::{self, DatabaseProbe};
use gatehouse_infrastructure::redis::{self as redis_adapter, RedisProbe};
use gatehouse_memory::{InMemoryHealthProbe, InMemoryTokenStore};

async fn an_answering_dependency_is_up(probe: Arc<dyn HealthProbe>, name: &str) {
    assert_eq!(probe.name(), name);
    probe.check().await.unwrap();
    probe.check().await.unwrap();
    assert_eq!(probe.name(), name);
}

#[tokio::test]
async fn the_database_probe_on_sqlite() {
    let file = gatehouse_testing::TempSqlite::new();
    let db = database::open(&file.url(), 2, true).await.unwrap();
    an_answering_dependency_is_up(Arc::new(DatabaseProbe::new(db.clone())), "database").await;
    db.close_by_ref().await.unwrap();
    assert!(
        DatabaseProbe::new(db).check().await.is_err(),
        "a closed pool is down"
    );
}

#[cfg_attr(
    gatehouse_no_postgres,
    ignore = "needs PostgreSQL: start it on 127.0.0.1:5432 or set GATEHOUSE_TEST_DATABASE_URL"
)]
#[tokio::test]
async fn the_database_probe_on_postgres() {
    let Some(test_db) = gatehouse_testing::postgres().await else {
        return;
    };
    let db = database::open(&test_db.url, 2, true).await.unwrap();
    an_answering_dependency_is_up(Arc::new(DatabaseProbe::new(db)), "database").await;
}

#[cfg_attr(
    gatehouse_no_redis,
    ignore = "needs Redis: start it on 127.0.0.1:6379 or set GATEHOUSE_TEST_REDIS_URL"
)]
#[tokio::test]
async fn the_redis_probe() {
    let Some(redis) = gatehouse_testing::redis().await else {
        return;
    };
    let pool = redis_adapter::connect(&redis.url, 2).await.unwrap();
    an_answering_dependency_is_up(Arc::new(RedisProbe::new(pool)), "cache").await;
}

#[tokio::test]
async fn the_in_memory_cache_probe() {
    let probe = InMemoryHealthProbe::cache(Arc::new(InMemoryTokenStore::new()));
    an_answering_dependency_is_up(Arc::new(probe), "cache").await;
}

#[tokio::test]
async fn the_in_memory_switch_probe() {
    let probe = Arc::new(InMemoryHealthProbe::switch("search"));
    an_answering_dependency_is_up(probe.clone(), "search").await;
    probe.set_up(false);
    assert!(probe.check().await.is_err());
    assert_eq!(probe.name(), "search");
    probe.set_up(true);
    probe.check().await.unwrap();
}
