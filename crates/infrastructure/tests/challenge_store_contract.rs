//! The `ChallengeStore` contract, run against every adapter: in-memory, Redis and a Redis
//! Cluster. `take` is
//! what makes an `mfa_token` and a WebAuthn ceremony single use, so it is raced for real.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::sync::Arc;
use std::time::Duration;

use gatehouse_application::ports::ChallengeStore;
use gatehouse_infrastructure::redis::{self as redis_adapter, RedisChallengeStore};
use gatehouse_memory::InMemoryChallengeStore;
use uuid::Uuid;

type Store = Arc<dyn ChallengeStore>;

fn key() -> String {
    format!("case:{}", Uuid::new_v4())
}

async fn a_value_reads_back_until_it_is_removed(store: Store) {
    let key = key();
    assert_eq!(store.get(&key).await.unwrap(), None);
    store
        .put(&key, "first", Duration::from_secs(60))
        .await
        .unwrap();
    store
        .put(&key, "second", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(store.get(&key).await.unwrap().as_deref(), Some("second"));
    assert_eq!(
        store.get(&key).await.unwrap().as_deref(),
        Some("second"),
        "get keeps it"
    );
    store.remove(&key).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), None);
    store.remove(&key).await.unwrap();
}

async fn a_value_expires_on_its_own(store: Store) {
    let key = key();
    store
        .put(&key, "brief", Duration::from_millis(300))
        .await
        .unwrap();
    assert!(store.get(&key).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(store.get(&key).await.unwrap(), None);
    assert_eq!(store.take(&key).await.unwrap(), None);
}

async fn of_concurrent_takers_exactly_one_gets_the_value(store: Store) {
    for _ in 0..5 {
        let key = key();
        store
            .put(&key, "once", Duration::from_secs(60))
            .await
            .unwrap();
        let takers = (0..16).map(|_| {
            let (store, key) = (store.clone(), key.clone());
            tokio::spawn(async move { store.take(&key).await.unwrap() })
        });
        let taken: Vec<String> = futures_util::future::join_all(takers)
            .await
            .into_iter()
            .filter_map(|taken| taken.unwrap())
            .collect();
        assert_eq!(taken, vec!["once".to_owned()]);
        assert_eq!(store.get(&key).await.unwrap(), None);
    }
}

async fn redis_store() -> Option<Store> {
    store_on(gatehouse_testing::redis().await?).await
}

async fn cluster_store() -> Option<Store> {
    store_on(gatehouse_testing::redis_cluster().await?).await
}

async fn store_on(redis: gatehouse_testing::TestRedis) -> Option<Store> {
    let pool = redis_adapter::connect(&redis.url, 4)
        .await
        .expect("cannot reach the test Redis");
    Some(Arc::new(RedisChallengeStore::new(pool, redis.prefix)))
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod in_memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case(std::sync::Arc::new(super::InMemoryChallengeStore::new())).await;
            })*
        }
        mod on_redis {
            $(#[cfg_attr(gatehouse_no_redis, ignore = "needs Redis: start it on 127.0.0.1:6379 or set GATEHOUSE_TEST_REDIS_URL")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(store) = super::redis_store().await else { return };
                super::$case(store).await;
            })*
        }
        mod on_redis_cluster {
            $(#[cfg_attr(gatehouse_no_redis_cluster, ignore = "needs a Redis Cluster: scripts/redis-cluster.sh start, or set GATEHOUSE_TEST_REDIS_CLUSTER_URL")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(store) = super::cluster_store().await else { return };
                super::$case(store).await;
            })*
        }
    };
}

contract!(
    a_value_reads_back_until_it_is_removed,
    a_value_expires_on_its_own,
    of_concurrent_takers_exactly_one_gets_the_value,
);
