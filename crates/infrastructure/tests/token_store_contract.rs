//! The `TokenStore` contract, run against every adapter: in-memory and Redis.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::sync::Arc;
use std::time::Duration;

use gatehouse_application::ports::{
    RefreshFamily, RefreshTokenState, Rotation, RotationRequest, TokenStore,
};
use gatehouse_domain::{DeviceId, SecurityStamp, UserId};
use gatehouse_infrastructure::redis as redis_adapter;
use gatehouse_infrastructure::redis::RedisTokenStore;
use gatehouse_memory::InMemoryTokenStore;
use time::OffsetDateTime;
use uuid::Uuid;

type Store = Arc<dyn TokenStore>;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

async fn new_family(store: &Store, user: UserId) -> RefreshFamily {
    family_on(store, user, None).await
}

async fn family_on(store: &Store, user: UserId, device: Option<DeviceId>) -> RefreshFamily {
    let family = RefreshFamily {
        id: Uuid::new_v4(),
        user,
        device,
        current_token: Uuid::new_v4(),
        expires_at: now() + Duration::from_secs(3600),
        absolute_expires_at: now() + Duration::from_secs(24 * 3600),
    };
    store.create_family(&family).await.unwrap();
    family
}

fn rotated(outcome: Rotation) -> bool {
    matches!(outcome, Rotation::Rotated { .. })
}

fn stamp(value: u64) -> SecurityStamp {
    SecurityStamp::new(value)
}

fn rotation(family: &RefreshFamily, presented: Uuid, grace: Duration) -> RotationRequest {
    RotationRequest {
        family: family.id,
        user: family.user,
        device: family.device,
        presented,
        next: Uuid::new_v4(),
        next_expires_at: now() + Duration::from_secs(3600),
        now: now(),
        grace,
    }
}

async fn rotation_moves_the_live_token_forward(store: Store) {
    let family = new_family(&store, UserId::generate()).await;
    let first = rotation(&family, family.current_token, Duration::ZERO);
    assert!(rotated(store.rotate(&first).await.unwrap()));
    let second = rotation(&family, first.next, Duration::ZERO);
    assert!(rotated(store.rotate(&second).await.unwrap()));
}

async fn reuse_revokes_the_whole_family(store: Store) {
    let family = new_family(&store, UserId::generate()).await;
    let first = rotation(&family, family.current_token, Duration::ZERO);
    assert!(rotated(store.rotate(&first).await.unwrap()));
    let replay = rotation(&family, family.current_token, Duration::ZERO);
    assert_eq!(
        store.rotate(&replay).await.unwrap(),
        Rotation::ReuseDetected
    );
    // The descendant the thief or the victim holds is dead too.
    let descendant = rotation(&family, first.next, Duration::ZERO);
    assert_eq!(store.rotate(&descendant).await.unwrap(), Rotation::Revoked);
}

async fn a_just_rotated_token_within_grace_is_refused_without_revoking(store: Store) {
    let family = new_family(&store, UserId::generate()).await;
    let first = rotation(&family, family.current_token, Duration::from_secs(30));
    assert!(rotated(store.rotate(&first).await.unwrap()));
    let concurrent = rotation(&family, family.current_token, Duration::from_secs(30));
    assert_eq!(
        store.rotate(&concurrent).await.unwrap(),
        Rotation::WithinGrace
    );
    let next = rotation(&family, first.next, Duration::from_secs(30));
    assert!(rotated(store.rotate(&next).await.unwrap()));
}

async fn unknown_family_is_revoked(store: Store) {
    let ghost = RefreshFamily {
        id: Uuid::new_v4(),
        user: UserId::generate(),
        device: None,
        current_token: Uuid::new_v4(),
        expires_at: now(),
        absolute_expires_at: now(),
    };
    let request = rotation(&ghost, ghost.current_token, Duration::ZERO);
    assert_eq!(store.rotate(&request).await.unwrap(), Rotation::Revoked);
}

async fn revoked_family_cannot_rotate(store: Store) {
    let family = new_family(&store, UserId::generate()).await;
    store.revoke_family(family.id).await.unwrap();
    let request = rotation(&family, family.current_token, Duration::ZERO);
    assert_eq!(store.rotate(&request).await.unwrap(), Rotation::Revoked);
    // Revoking an unknown family is harmless.
    store.revoke_family(Uuid::new_v4()).await.unwrap();
}

async fn concurrent_double_refresh_admits_exactly_one(store: Store) {
    let family = new_family(&store, UserId::generate()).await;
    let attempts: Vec<_> = (0..16)
        .map(|_| {
            let (store, request) = (
                store.clone(),
                rotation(&family, family.current_token, Duration::ZERO),
            );
            tokio::spawn(async move { store.rotate(&request).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for attempt in attempts {
        outcomes.push(attempt.await.unwrap());
    }
    let taken = outcomes.iter().filter(|o| rotated(**o)).count();
    assert_eq!(taken, 1, "{outcomes:?}");
    assert!(outcomes.contains(&Rotation::ReuseDetected), "{outcomes:?}");
}

async fn revoke_user_kills_every_family_and_access_tokens_under_older_stamps(store: Store) {
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let alice_families = [
        new_family(&store, alice).await,
        new_family(&store, alice).await,
    ];
    let bob_family = new_family(&store, bob).await;
    let token = Uuid::new_v4();
    store
        .revoke_user(alice, stamp(3), now() + Duration::from_secs(900))
        .await
        .unwrap();

    for family in &alice_families {
        let request = rotation(family, family.current_token, Duration::ZERO);
        assert_eq!(store.rotate(&request).await.unwrap(), Rotation::Revoked);
    }
    let request = rotation(&bob_family, bob_family.current_token, Duration::ZERO);
    assert!(rotated(store.rotate(&request).await.unwrap()));

    // Exact, whatever the clocks say: issued under stamp 2, revoked; under 3, valid, even in
    // the very same millisecond.
    let at = now();
    for (user, issued_under, revoked) in [
        (alice, 0, true),
        (alice, 2, true),
        (alice, 3, false),
        (alice, 4, false),
        (bob, 0, false),
    ] {
        assert_eq!(
            store
                .check_access_token(user, None, token, at, stamp(issued_under))
                .await
                .unwrap()
                .revoked,
            revoked,
            "stamp {issued_under}"
        );
    }
}

async fn the_stamp_floor_never_moves_back(store: Store) {
    let user = UserId::generate();
    store
        .revoke_user(user, stamp(7), now() + Duration::from_secs(900))
        .await
        .unwrap();
    store
        .revoke_user(user, stamp(2), now() + Duration::from_secs(900))
        .await
        .unwrap();
    assert!(
        store
            .check_access_token(user, None, Uuid::new_v4(), now(), stamp(6))
            .await
            .unwrap()
            .revoked
    );
}

/// Rotation never extends a family past its absolute expiry: the last token expires with
/// the family, and a rotation after it is `Expired`.
async fn rotation_never_extends_a_family_past_its_absolute_expiry(store: Store) {
    let user = UserId::generate();
    let absolute = now() + Duration::from_millis(1500);
    let family = RefreshFamily {
        id: Uuid::new_v4(),
        user,
        device: None,
        current_token: Uuid::new_v4(),
        expires_at: absolute,
        absolute_expires_at: absolute,
    };
    store.create_family(&family).await.unwrap();
    let first = rotation(&family, family.current_token, Duration::ZERO);
    let Rotation::Rotated { expires_at } = store.rotate(&first).await.unwrap() else {
        panic!("the first rotation goes through");
    };
    let to_ms = |t: OffsetDateTime| t.unix_timestamp_nanos() / 1_000_000;
    assert_eq!(
        to_ms(expires_at),
        to_ms(absolute),
        "clamped to the family's end"
    );
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let late = rotation(&family, first.next, Duration::ZERO);
    // A store that still holds the family says Expired; one that forgot it with its last
    // token says Revoked (the service then reads the token's own expiry). Never Rotated.
    assert!(
        matches!(
            store.rotate(&late).await.unwrap(),
            Rotation::Expired | Rotation::Revoked
        ),
        "past its end the family cannot rotate"
    );
}

/// Reading a token's state tells live from rotated from dead, the way a rotation at that
/// instant would judge it, and changes nothing: the live token still rotates after it.
async fn a_token_state_is_read_as_rotation_would_judge_it(store: Store) {
    let state = |family: &RefreshFamily, token: Uuid| {
        let (store, family) = (store.clone(), family.id);
        async move {
            store
                .refresh_token_state(family, token, now(), Duration::ZERO)
                .await
                .unwrap()
        }
    };
    let family = new_family(&store, UserId::generate()).await;
    assert_eq!(
        state(&family, family.current_token).await,
        RefreshTokenState::Live
    );
    assert_eq!(
        state(&family, family.current_token).await,
        RefreshTokenState::Live,
        "a read changes nothing"
    );
    let first = rotation(&family, family.current_token, Duration::ZERO);
    assert!(rotated(store.rotate(&first).await.unwrap()));
    assert_eq!(state(&family, first.next).await, RefreshTokenState::Live);
    assert_eq!(
        state(&family, family.current_token).await,
        RefreshTokenState::Superseded
    );
    assert_eq!(
        state(&family, Uuid::new_v4()).await,
        RefreshTokenState::Superseded,
        "any token but the live one is not live"
    );
    // Reading the superseded token revoked nothing.
    let second = rotation(&family, first.next, Duration::ZERO);
    assert!(rotated(store.rotate(&second).await.unwrap()));

    store.revoke_family(family.id).await.unwrap();
    assert_eq!(
        state(&family, second.next).await,
        RefreshTokenState::Revoked
    );
    assert_eq!(
        state(&family, family.current_token).await,
        RefreshTokenState::Revoked
    );
    let unknown = store
        .refresh_token_state(Uuid::new_v4(), Uuid::new_v4(), now(), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(unknown, RefreshTokenState::Revoked);

    let other = new_family(&store, UserId::generate()).await;
    let late = now() + Duration::from_secs(25 * 3600);
    let past_its_end = store
        .refresh_token_state(other.id, other.current_token, late, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(past_its_end, RefreshTokenState::Expired);
    store.revoke_user(other.user, stamp(2), late).await.unwrap();
    assert_eq!(
        state(&other, other.current_token).await,
        RefreshTokenState::Revoked,
        "revoking the user revokes the family"
    );
}

/// Within the grace window the token just rotated away from reads as such, exactly when a
/// rotation at the same instant would answer `WithinGrace`; past it, as superseded, when the
/// rotation would be reuse.
async fn a_token_state_within_grace_agrees_with_rotation(store: Store) {
    let family = new_family(&store, UserId::generate()).await;
    let grace = Duration::from_millis(800);
    let first = rotation(&family, family.current_token, grace);
    assert!(rotated(store.rotate(&first).await.unwrap()));
    let read = |token: Uuid, grace: Duration| {
        let store = store.clone();
        async move {
            store
                .refresh_token_state(family.id, token, now(), grace)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        read(family.current_token, grace).await,
        RefreshTokenState::WithinGrace
    );
    assert_eq!(
        read(family.current_token, Duration::ZERO).await,
        RefreshTokenState::Superseded,
        "without a grace window it is reuse at once"
    );
    assert_eq!(
        store
            .rotate(&rotation(&family, family.current_token, grace))
            .await
            .unwrap(),
        Rotation::WithinGrace,
        "the rotation agrees, and revokes nothing"
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        read(family.current_token, grace).await,
        RefreshTokenState::Superseded
    );
    assert_eq!(
        store
            .rotate(&rotation(&family, family.current_token, grace))
            .await
            .unwrap(),
        Rotation::ReuseDetected,
        "the rotation agrees"
    );
    assert_eq!(read(first.next, grace).await, RefreshTokenState::Revoked);
}

async fn denied_access_tokens_are_revoked_and_others_are_not(store: Store) {
    let user = UserId::generate();
    let (denied, other) = (Uuid::new_v4(), Uuid::new_v4());
    store
        .deny_access_token(denied, now() + Duration::from_secs(900))
        .await
        .unwrap();
    assert!(
        store
            .check_access_token(user, None, denied, now(), stamp(0))
            .await
            .unwrap()
            .revoked
    );
    assert!(
        !store
            .check_access_token(user, None, other, now(), stamp(0))
            .await
            .unwrap()
            .revoked
    );
}

async fn revoke_device_kills_its_families_and_older_access_tokens_only(store: Store) {
    let user = UserId::generate();
    let (phone, laptop) = (DeviceId::generate(), DeviceId::generate());
    let on_phone = family_on(&store, user, Some(phone)).await;
    let on_laptop = family_on(&store, user, Some(laptop)).await;
    let cutoff = now() + Duration::from_millis(5);
    store
        .revoke_device(phone, cutoff, cutoff + Duration::from_secs(900))
        .await
        .unwrap();

    let request = rotation(&on_phone, on_phone.current_token, Duration::ZERO);
    assert_eq!(store.rotate(&request).await.unwrap(), Rotation::Revoked);
    let request = rotation(&on_laptop, on_laptop.current_token, Duration::ZERO);
    assert!(rotated(store.rotate(&request).await.unwrap()));

    let token = Uuid::new_v4();
    let revoked = |device, issued_at| {
        let store = store.clone();
        async move {
            store
                .check_access_token(user, device, token, issued_at, stamp(0))
                .await
                .unwrap()
                .revoked
        }
    };
    let before = cutoff - Duration::from_millis(10);
    assert!(revoked(Some(phone), before).await);
    assert!(!revoked(Some(laptop), before).await);
    assert!(!revoked(None, before).await);
    // Exact to the millisecond tokens carry: one issued in the revocation's own millisecond
    // (just before it) is revoked; one a millisecond later is not.
    assert!(revoked(Some(phone), cutoff).await, "the same millisecond");
    let after = cutoff + Duration::from_millis(1);
    assert!(!revoked(Some(phone), after).await);
}

/// A family near its absolute end, rotated, never shortens its user's or device's reach: a
/// revocation after the short family has gone still finds the long one.
async fn a_short_family_never_hides_its_siblings_from_revocation(store: Store) {
    let (user, device) = (UserId::generate(), DeviceId::generate());
    for revoke_device in [false, true] {
        let short = RefreshFamily {
            id: Uuid::new_v4(),
            user,
            device: Some(device),
            current_token: Uuid::new_v4(),
            expires_at: now() + Duration::from_millis(800),
            absolute_expires_at: now() + Duration::from_millis(800),
        };
        store.create_family(&short).await.unwrap();
        let long = family_on(&store, user, Some(device)).await;
        let rotated_short = rotation(&short, short.current_token, Duration::ZERO);
        assert!(rotated(store.rotate(&rotated_short).await.unwrap()));
        tokio::time::sleep(Duration::from_millis(1200)).await;
        if revoke_device {
            store
                .revoke_device(device, now(), now() + Duration::from_secs(900))
                .await
                .unwrap();
        } else {
            store
                .revoke_user(user, stamp(1), now() + Duration::from_secs(900))
                .await
                .unwrap();
        }
        let request = rotation(&long, long.current_token, Duration::ZERO);
        assert_eq!(
            store.rotate(&request).await.unwrap(),
            Rotation::Revoked,
            "revoked by {}",
            if revoke_device { "device" } else { "user" }
        );
    }
}

async fn redis_store() -> Option<Store> {
    let redis = gatehouse_testing::redis().await?;
    let pool = redis_adapter::connect(&redis.url, 4)
        .await
        .expect("cannot reach the test Redis");
    Some(Arc::new(RedisTokenStore::new(pool, redis.prefix)))
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod in_memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                super::$case(std::sync::Arc::new(super::InMemoryTokenStore::new())).await;
            })*
        }
        mod on_redis {
            $(#[cfg_attr(gatehouse_no_redis, ignore = "needs Redis: start it on 127.0.0.1:6379 or set GATEHOUSE_TEST_REDIS_URL")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some(store) = super::redis_store().await else { return };
                super::$case(store).await;
            })*
        }
    };
}

contract!(
    rotation_moves_the_live_token_forward,
    reuse_revokes_the_whole_family,
    a_just_rotated_token_within_grace_is_refused_without_revoking,
    unknown_family_is_revoked,
    revoked_family_cannot_rotate,
    concurrent_double_refresh_admits_exactly_one,
    revoke_user_kills_every_family_and_access_tokens_under_older_stamps,
    the_stamp_floor_never_moves_back,
    rotation_never_extends_a_family_past_its_absolute_expiry,
    a_token_state_is_read_as_rotation_would_judge_it,
    a_token_state_within_grace_agrees_with_rotation,
    denied_access_tokens_are_revoked_and_others_are_not,
    revoke_device_kills_its_families_and_older_access_tokens_only,
    a_short_family_never_hides_its_siblings_from_revocation,
);

/// The sets a family joins get an expiry at least as long as the family's: none is left to
/// live for ever, and none dies before its longest family.
#[cfg_attr(
    gatehouse_no_redis,
    ignore = "needs Redis: start it on 127.0.0.1:6379 or set GATEHOUSE_TEST_REDIS_URL"
)]
#[tokio::test]
async fn redis_family_sets_last_as_long_as_their_longest_family() {
    use fred::interfaces::KeysInterface;
    let Some(redis) = gatehouse_testing::redis().await else {
        return;
    };
    let pool = redis_adapter::connect(&redis.url, 2).await.unwrap();
    let store: Store = Arc::new(RedisTokenStore::new(pool.clone(), redis.prefix.clone()));
    let (user, device) = (UserId::generate(), DeviceId::generate());
    let family = family_on(&store, user, Some(device)).await;
    let request = rotation(&family, family.current_token, Duration::ZERO);
    assert!(rotated(store.rotate(&request).await.unwrap()));
    for set in [
        format!("{}rt:user:{user}", redis.prefix),
        format!("{}rt:device:{device}", redis.prefix),
    ] {
        let ttl: i64 = pool.pttl(&set).await.unwrap();
        assert!(ttl > 3_500_000, "{set}: {ttl}");
    }
}

/// A user's revocation instant written by a release before security stamps still revokes
/// the access tokens it covered (issued at or before it), so an upgrade brings back nothing.
#[cfg_attr(
    gatehouse_no_redis,
    ignore = "needs Redis: start it on 127.0.0.1:6379 or set GATEHOUSE_TEST_REDIS_URL"
)]
#[tokio::test]
async fn a_revocation_instant_from_an_earlier_release_still_counts_on_redis() {
    use fred::interfaces::KeysInterface;
    let Some(redis) = gatehouse_testing::redis().await else {
        return;
    };
    let pool = redis_adapter::connect(&redis.url, 2).await.unwrap();
    let store = RedisTokenStore::new(pool.clone(), redis.prefix.clone());
    let user = UserId::generate();
    let revoked_at = now();
    let ms = revoked_at.unix_timestamp_nanos() / 1_000_000;
    let _: () = pool
        .set(
            format!("{}at:before:{user}", redis.prefix),
            ms.to_string(),
            None,
            None,
            false,
        )
        .await
        .unwrap();
    let token = Uuid::new_v4();
    let revoked = |issued_at| {
        let store = &store;
        async move {
            store
                .check_access_token(user, None, token, issued_at, SecurityStamp::INITIAL)
                .await
                .unwrap()
                .revoked
        }
    };
    assert!(revoked(revoked_at - Duration::from_secs(60)).await);
    assert!(revoked(revoked_at).await);
    assert!(!revoked(revoked_at + Duration::from_millis(2)).await);

    // And a revocation of ours leaves the instant such a release reads, for its instances
    // still running during a rollout.
    let other = UserId::generate();
    let before_ours = now();
    store
        .revoke_user(
            other,
            SecurityStamp::new(1),
            now() + Duration::from_secs(900),
        )
        .await
        .unwrap();
    let written: Option<String> = pool
        .get(format!("{}at:before:{other}", redis.prefix))
        .await
        .unwrap();
    let written: i128 = written.expect("the instant is written").parse().unwrap();
    assert!(written >= before_ours.unix_timestamp_nanos() / 1_000_000);
    // ...which this release does not judge its own tokens by: a token under the new stamp
    // issued a moment before that instant (another instance's slower clock) stands.
    let issued = OffsetDateTime::from_unix_timestamp_nanos((written - 50) * 1_000_000).unwrap();
    assert!(
        !store
            .check_access_token(other, None, token, issued, SecurityStamp::new(1))
            .await
            .unwrap()
            .revoked
    );
}

/// A family recorded before absolute expiries has no `abs` field: read as live, as ROTATE
/// would rotate it; and a revocation of a family whose key has gone never brings it back.
#[cfg_attr(
    gatehouse_no_redis,
    ignore = "needs Redis: start it on 127.0.0.1:6379 or set GATEHOUSE_TEST_REDIS_URL"
)]
#[tokio::test]
async fn a_family_from_before_absolute_expiries_reads_as_rotation_judges_it_on_redis() {
    use fred::interfaces::{HashesInterface, KeysInterface};
    let Some(redis) = gatehouse_testing::redis().await else {
        return;
    };
    let pool = redis_adapter::connect(&redis.url, 2).await.unwrap();
    let store: Store = Arc::new(RedisTokenStore::new(pool.clone(), redis.prefix.clone()));
    let family = new_family(&store, UserId::generate()).await;
    let key = format!("{}rt:fam:{}", redis.prefix, family.id);
    let _: i64 = pool.hdel(&key, "abs").await.unwrap();
    let state = store
        .refresh_token_state(family.id, family.current_token, now(), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(state, RefreshTokenState::Live);
    let request = rotation(&family, family.current_token, Duration::ZERO);
    assert!(rotated(store.rotate(&request).await.unwrap()));

    let _: i64 = pool.del(&key).await.unwrap();
    store.revoke_family(family.id).await.unwrap();
    let exists: i64 = pool.exists(&key).await.unwrap();
    assert_eq!(exists, 0, "revoking a forgotten family writes nothing");
}
