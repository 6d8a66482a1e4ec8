//! The `AccountVersions` contract, run against every adapter: in-memory, Redis and a Redis
//! Cluster. A version
//! is what lets an instance keep a copy of an account, so every bump must count, also when
//! many land at once; on Redis, the token and session stores read the same counter in their
//! own round trip, and must read what `current` reads.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::sync::Arc;
use std::time::Duration;

use gatehouse_application::ports::{
    AccountVersions, SessionKey, SessionRecord, SessionStore, TokenStore,
};
use gatehouse_domain::{AuthMethod, SecurityStamp, UserId};
use gatehouse_infrastructure::redis::{
    self as redis_adapter, RedisAccountVersions, RedisSessionStore, RedisTokenStore,
};
use gatehouse_memory::InMemoryAccountVersions;
use time::OffsetDateTime;
use uuid::Uuid;

type Versions = Arc<dyn AccountVersions>;

async fn a_version_stays_until_a_bump_of_its_own_account_moves_it(versions: Versions) {
    let (user, other) = (UserId::generate(), UserId::generate());
    let start = versions.current(user).await.unwrap();
    assert_eq!(
        versions.current(user).await.unwrap(),
        start,
        "a read moves nothing"
    );
    let other_start = versions.current(other).await.unwrap();
    let first = versions.bump(user).await.unwrap();
    let second = versions.bump(user).await.unwrap();
    assert!(start < first && first < second, "{start} {first} {second}");
    assert_eq!(versions.current(user).await.unwrap(), second);
    assert_eq!(
        versions.current(other).await.unwrap(),
        other_start,
        "per account"
    );
}

async fn concurrent_bumps_each_hand_out_a_version_of_their_own(versions: Versions) {
    let user = UserId::generate();
    let start = versions.current(user).await.unwrap();
    let directory = versions.directory().await.unwrap();
    let bumps = (0..64).map(|_| {
        let versions = versions.clone();
        tokio::spawn(async move {
            versions.bump_directory().await.unwrap();
            versions.bump(user).await.unwrap()
        })
    });
    let mut handed_out = Vec::new();
    for bump in futures_util::future::join_all(bumps).await {
        handed_out.push(bump.unwrap());
    }
    handed_out.sort_unstable();
    handed_out.dedup();
    assert_eq!(handed_out.len(), 64, "no version handed out twice");
    let last = versions.current(user).await.unwrap();
    assert!(handed_out.iter().all(|v| start < *v && *v <= last));
    assert_eq!(handed_out.last(), Some(&last));
    // Other cases share the directory: it moved, by at least this case's bumps.
    assert!(versions.directory().await.unwrap() >= directory + 64);
}

async fn a_bump_of_an_account_never_read_starts_it_and_moves_it(versions: Versions) {
    let user = UserId::generate();
    let once = versions.bump(user).await.unwrap();
    assert_eq!(versions.current(user).await.unwrap(), once);
    let twice = versions.bump(user).await.unwrap();
    assert!(twice > once);
}

async fn redis_versions() -> Option<Versions> {
    versions_on(gatehouse_testing::redis().await?).await
}

async fn cluster_versions() -> Option<Versions> {
    versions_on(gatehouse_testing::redis_cluster().await?).await
}

async fn versions_on(redis: gatehouse_testing::TestRedis) -> Option<Versions> {
    let pool = redis_adapter::connect(&redis.url, 4)
        .await
        .expect("cannot reach the test Redis");
    Some(Arc::new(RedisAccountVersions::new(pool, redis.prefix)))
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod in_memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case(std::sync::Arc::new(super::InMemoryAccountVersions::new())).await;
            })*
        }
        mod on_redis {
            $(#[cfg_attr(gatehouse_no_redis, ignore = "needs Redis: start it on 127.0.0.1:6379 or set GATEHOUSE_TEST_REDIS_URL")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(versions) = super::redis_versions().await else { return };
                super::$case(versions).await;
            })*
        }
        mod on_redis_cluster {
            $(#[cfg_attr(gatehouse_no_redis_cluster, ignore = "needs a Redis Cluster: scripts/redis-cluster.sh start, or set GATEHOUSE_TEST_REDIS_CLUSTER_URL")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(store) = super::cluster_versions().await else { return };
                super::$case(store).await;
            })*
        }
    };
}

contract!(
    a_version_stays_until_a_bump_of_its_own_account_moves_it,
    concurrent_bumps_each_hand_out_a_version_of_their_own,
    a_bump_of_an_account_never_read_starts_it_and_moves_it,
);

/// Redis may lose its keys (a restart without persistence, a flush) or its latest writes (a
/// failover). A version lost that way must not start again from a value an instance's copy
/// was taken at: it starts, and moves, from the server's clock, above anything the lost
/// counter reached.
#[cfg_attr(
    gatehouse_no_redis,
    ignore = "needs Redis: start it on 127.0.0.1:6379 or set GATEHOUSE_TEST_REDIS_URL"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_redis_a_lost_version_starts_again_above_what_it_was() {
    let Some(redis) = gatehouse_testing::redis().await else {
        return;
    };
    let pool = redis_adapter::connect(&redis.url, 2).await.unwrap();
    let versions = RedisAccountVersions::new(pool.clone(), redis.prefix.clone());
    let user = UserId::generate();
    for _ in 0..5 {
        versions.bump(user).await.unwrap();
    }
    let before = versions.current(user).await.unwrap();
    let directory = versions.directory().await.unwrap();
    let key = format!("{}acct:ver:{{{user}}}", redis.prefix);
    let _: i64 = fred::prelude::KeysInterface::del(&pool, key).await.unwrap();
    let _: i64 =
        fred::prelude::KeysInterface::del(&pool, format!("{}acct:directory-ver", redis.prefix))
            .await
            .unwrap();
    assert!(versions.current(user).await.unwrap() > before);
    assert!(versions.directory().await.unwrap() > directory);

    // A failover to a replica that missed the latest moves: the key goes back to an older
    // value. The next move still hands out a version never handed out before.
    let older = versions.current(user).await.unwrap();
    let latest = versions.bump(user).await.unwrap();
    let key = format!("{}acct:ver:{{{user}}}", redis.prefix);
    let _: () = fred::prelude::KeysInterface::set(&pool, key, older.to_string(), None, None, false)
        .await
        .unwrap();
    assert!(versions.bump(user).await.unwrap() > latest);
}

/// The one round trip of an authenticated request reads the version the versions adapter
/// moves: through the access-token check and through the session touch.
#[cfg_attr(
    gatehouse_no_redis,
    ignore = "needs Redis: start it on 127.0.0.1:6379 or set GATEHOUSE_TEST_REDIS_URL"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_redis_the_credential_checks_read_the_account_version_in_their_round_trip() {
    let Some(redis) = gatehouse_testing::redis().await else {
        return;
    };
    let pool = redis_adapter::connect(&redis.url, 4).await.unwrap();
    let versions = RedisAccountVersions::new(pool.clone(), redis.prefix.clone());
    let tokens = RedisTokenStore::new(pool.clone(), redis.prefix.clone());
    let sessions = RedisSessionStore::new(pool, redis.prefix);
    let user = UserId::generate();
    let now = OffsetDateTime::now_utc();
    let key = SessionKey::from_hash(Uuid::new_v4().simple().to_string());
    let session = SessionRecord {
        user,
        device: None,
        csrf_token: "csrf".into(),
        created_at: now,
        expires_at: now + Duration::from_secs(600),
        stamp: SecurityStamp::INITIAL,
        methods: vec![AuthMethod::Password],
    };
    sessions
        .insert(&key, &session, now + Duration::from_secs(300))
        .await
        .unwrap();
    // Before the version exists, both say so (and the cache starts it through `current`).
    let check = tokens
        .check_access_token(user, None, Uuid::new_v4(), now, SecurityStamp::INITIAL)
        .await
        .unwrap();
    assert_eq!(check.account_version, None);
    let (_, version) = sessions
        .touch_reading_version(&key, now, now + Duration::from_secs(300))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(version, None);
    let start = versions.current(user).await.unwrap();
    let mut expected = start;
    for _ in 0..3 {
        let check = tokens
            .check_access_token(user, None, Uuid::new_v4(), now, SecurityStamp::INITIAL)
            .await
            .unwrap();
        assert_eq!(check.account_version, Some(expected));
        assert!(!check.revoked);
        let (touched, version) = sessions
            .touch_reading_version(&key, now, now + Duration::from_secs(300))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((touched.user, version), (user, Some(expected)));
        expected = versions.bump(user).await.unwrap();
    }
}
