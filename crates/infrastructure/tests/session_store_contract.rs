//! The `SessionStore` contract, run against every adapter: in-memory and Redis.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::sync::Arc;
use std::time::Duration;

use gatehouse_application::ports::{SessionKey, SessionRecord, SessionStore};
use gatehouse_domain::{AuthMethod, DeviceId, SecurityStamp, UserId};
use gatehouse_infrastructure::redis as redis_adapter;
use gatehouse_infrastructure::redis::RedisSessionStore;
use gatehouse_memory::InMemorySessionStore;
use time::OffsetDateTime;
use uuid::Uuid;

type Store = Arc<dyn SessionStore>;

fn now() -> OffsetDateTime {
    // Whole milliseconds, the precision every adapter keeps.
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.millisecond() as u32 * 1_000_000)
        .unwrap()
}

fn key() -> SessionKey {
    SessionKey::from_hash(Uuid::new_v4().simple().to_string())
}

fn record(user: UserId, lifetime: Duration) -> SessionRecord {
    let created_at = now();
    SessionRecord {
        user,
        device: Some(DeviceId::generate()),
        csrf_token: format!("csrf-{}", Uuid::new_v4()),
        created_at,
        expires_at: created_at + lifetime,
        stamp: SecurityStamp::new(3),
        // Both methods, so a store that drops or reorders them fails the read-back.
        methods: vec![AuthMethod::Password, AuthMethod::Otp],
    }
}

const HOUR: Duration = Duration::from_secs(3600);

async fn a_stored_session_reads_back(store: Store) {
    let (key, session) = (key(), record(UserId::generate(), HOUR));
    store.insert(&key, &session, now() + HOUR).await.unwrap();
    let read = store.touch(&key, now(), now() + HOUR).await.unwrap();
    assert_eq!(read, Some(session));
}

async fn unknown_and_removed_sessions_are_none(store: Store) {
    assert_eq!(
        store.touch(&key(), now(), now() + HOUR).await.unwrap(),
        None
    );
    let (key, session) = (key(), record(UserId::generate(), HOUR));
    store.insert(&key, &session, now() + HOUR).await.unwrap();
    store.remove(&key).await.unwrap();
    assert_eq!(store.touch(&key, now(), now() + HOUR).await.unwrap(), None);
}

async fn idle_sessions_expire_and_activity_slides_the_window(store: Store) {
    let (key, session) = (key(), record(UserId::generate(), HOUR));
    let idle = Duration::from_millis(1000);
    store.insert(&key, &session, now() + idle).await.unwrap();
    // Active every 300 ms for 1.5 s: longer than one idle window, never idle for one.
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            store
                .touch(&key, now(), now() + idle)
                .await
                .unwrap()
                .is_some()
        );
    }
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(store.touch(&key, now(), now() + idle).await.unwrap(), None);
}

async fn the_absolute_cap_ends_even_an_active_session(store: Store) {
    let (key, session) = (
        key(),
        record(UserId::generate(), Duration::from_millis(1000)),
    );
    store.insert(&key, &session, now() + HOUR).await.unwrap();
    assert!(
        store
            .touch(&key, now(), now() + HOUR)
            .await
            .unwrap()
            .is_some()
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(store.touch(&key, now(), now() + HOUR).await.unwrap(), None);
}

async fn removing_a_users_sessions_spares_other_users(store: Store) {
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let alice_keys = [key(), key()];
    for k in &alice_keys {
        store
            .insert(k, &record(alice, HOUR), now() + HOUR)
            .await
            .unwrap();
    }
    let bob_key = key();
    store
        .insert(&bob_key, &record(bob, HOUR), now() + HOUR)
        .await
        .unwrap();
    store.remove_all_for_user(alice, None).await.unwrap();
    for k in &alice_keys {
        assert_eq!(store.touch(k, now(), now() + HOUR).await.unwrap(), None);
    }
    assert!(
        store
            .touch(&bob_key, now(), now() + HOUR)
            .await
            .unwrap()
            .is_some()
    );
}

async fn removing_a_users_sessions_can_keep_one(store: Store) {
    let alice = UserId::generate();
    let (kept, ended) = (key(), key());
    for k in [&kept, &ended] {
        store
            .insert(k, &record(alice, HOUR), now() + HOUR)
            .await
            .unwrap();
    }
    store
        .remove_all_for_user(alice, Some(kept.clone()))
        .await
        .unwrap();
    assert_eq!(
        store.touch(&ended, now(), now() + HOUR).await.unwrap(),
        None
    );
    assert!(
        store
            .touch(&kept, now(), now() + HOUR)
            .await
            .unwrap()
            .is_some()
    );
    // The kept session is still indexed under its user: a later logout-all ends it.
    store.remove_all_for_user(alice, None).await.unwrap();
    assert_eq!(store.touch(&kept, now(), now() + HOUR).await.unwrap(), None);
}

async fn removing_a_devices_sessions_spares_the_users_other_devices(store: Store) {
    let user = UserId::generate();
    let (phone, laptop) = (record(user, HOUR), record(user, HOUR));
    let (phone_key, laptop_key) = (key(), key());
    store
        .insert(&phone_key, &phone, now() + HOUR)
        .await
        .unwrap();
    store
        .insert(&laptop_key, &laptop, now() + HOUR)
        .await
        .unwrap();
    let Some(device) = phone.device else {
        unreachable!("records carry a device")
    };
    store.remove_all_for_device(device).await.unwrap();
    assert_eq!(
        store.touch(&phone_key, now(), now() + HOUR).await.unwrap(),
        None
    );
    assert_eq!(
        store.touch(&laptop_key, now(), now() + HOUR).await.unwrap(),
        Some(laptop)
    );
}

async fn a_session_without_a_device_reads_back_without_one(store: Store) {
    let (key, mut session) = (key(), record(UserId::generate(), HOUR));
    session.device = None;
    store.insert(&key, &session, now() + HOUR).await.unwrap();
    assert_eq!(
        store.touch(&key, now(), now() + HOUR).await.unwrap(),
        Some(session)
    );
}

/// A restamped session reads back with its new stamp; restamping an unknown session
/// creates nothing.
async fn a_kept_session_can_be_restamped(store: Store) {
    let (key, session) = (key(), record(UserId::generate(), HOUR));
    store.insert(&key, &session, now() + HOUR).await.unwrap();
    store.restamp(&key, SecurityStamp::new(9)).await.unwrap();
    let read = store
        .touch(&key, now(), now() + HOUR)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.stamp, SecurityStamp::new(9));
    assert_eq!(read.csrf_token, session.csrf_token);
    let ghost = self::key();
    store.restamp(&ghost, SecurityStamp::new(9)).await.unwrap();
    assert_eq!(
        store.touch(&ghost, now(), now() + HOUR).await.unwrap(),
        None
    );
}

/// A user's (or device's) set of sessions outlives its longest session: a short session
/// opened after a long one never hides the long one from "end them all".
async fn a_short_session_never_hides_a_long_one_from_removal(store: Store) {
    let user = UserId::generate();
    let device = DeviceId::generate();
    let long = SessionRecord {
        device: Some(device),
        ..record(user, HOUR)
    };
    let short = SessionRecord {
        device: Some(device),
        ..record(user, Duration::from_millis(600))
    };
    let (long_key, short_key) = (key(), key());
    store.insert(&long_key, &long, now() + HOUR).await.unwrap();
    store
        .insert(&short_key, &short, now() + Duration::from_millis(600))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    store.remove_all_for_user(user, None).await.unwrap();
    assert_eq!(
        store.touch(&long_key, now(), now() + HOUR).await.unwrap(),
        None
    );
}

async fn redis_store() -> Option<Store> {
    let redis = gatehouse_testing::redis().await?;
    let pool = redis_adapter::connect(&redis.url, 2)
        .await
        .expect("cannot reach the test Redis");
    Some(Arc::new(RedisSessionStore::new(pool, redis.prefix)))
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod in_memory {
            $(#[tokio::test]
            async fn $case() {
                super::$case(std::sync::Arc::new(super::InMemorySessionStore::new())).await;
            })*
        }
        mod on_redis {
            $(#[cfg_attr(gatehouse_no_redis, ignore = "needs Redis: start it on 127.0.0.1:6379 or set GATEHOUSE_TEST_REDIS_URL")]
            #[tokio::test]
            async fn $case() {
                let Some(store) = super::redis_store().await else { return };
                super::$case(store).await;
            })*
        }
    };
}

contract!(
    a_stored_session_reads_back,
    unknown_and_removed_sessions_are_none,
    idle_sessions_expire_and_activity_slides_the_window,
    the_absolute_cap_ends_even_an_active_session,
    removing_a_users_sessions_spares_other_users,
    removing_a_users_sessions_can_keep_one,
    removing_a_devices_sessions_spares_the_users_other_devices,
    a_session_without_a_device_reads_back_without_one,
    a_kept_session_can_be_restamped,
    a_short_session_never_hides_a_long_one_from_removal,
);

/// Sessions stored before stamps existed read back as stamp 0, and the sets a session joins
/// get an expiry (none is left to live for ever).
#[cfg_attr(
    gatehouse_no_redis,
    ignore = "needs Redis: start it on 127.0.0.1:6379 or set GATEHOUSE_TEST_REDIS_URL"
)]
#[tokio::test]
async fn redis_session_details() {
    use fred::interfaces::{HashesInterface, KeysInterface};
    let Some(redis) = gatehouse_testing::redis().await else {
        return;
    };
    let pool = redis_adapter::connect(&redis.url, 2).await.unwrap();
    let store = RedisSessionStore::new(pool.clone(), redis.prefix.clone());
    let (key, session) = (key(), record(UserId::generate(), HOUR));
    store.insert(&key, &session, now() + HOUR).await.unwrap();
    let hash = format!("{}sess:{}", redis.prefix, key.as_str());
    let _: i64 = pool.hdel(&hash, "stamp").await.unwrap();
    let read = store
        .touch(&key, now(), now() + HOUR)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.stamp, SecurityStamp::INITIAL);
    let set = format!("{}sess-user:{}", redis.prefix, session.user);
    let ttl: i64 = pool.pttl(&set).await.unwrap();
    assert!(
        ttl > 3_500_000,
        "the user's set lasts as long as its session: {ttl}"
    );
}
