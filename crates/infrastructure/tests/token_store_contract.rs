//! The `TokenStore` contract, run against every adapter: in-memory and Redis.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_application::ports::{RefreshFamily, Rotation, RotationRequest, TokenStore};
use gatehouse_domain::{DeviceId, UserId};
use gatehouse_infrastructure::redis as redis_adapter;
use gatehouse_infrastructure::tokens::{InMemoryTokenStore, RedisTokenStore};
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
    };
    store.create_family(&family).await.unwrap();
    family
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
    assert_eq!(store.rotate(&first).await.unwrap(), Rotation::Rotated);
    let second = rotation(&family, first.next, Duration::ZERO);
    assert_eq!(store.rotate(&second).await.unwrap(), Rotation::Rotated);
}

async fn reuse_revokes_the_whole_family(store: Store) {
    let family = new_family(&store, UserId::generate()).await;
    let first = rotation(&family, family.current_token, Duration::ZERO);
    assert_eq!(store.rotate(&first).await.unwrap(), Rotation::Rotated);
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
    assert_eq!(store.rotate(&first).await.unwrap(), Rotation::Rotated);
    let concurrent = rotation(&family, family.current_token, Duration::from_secs(30));
    assert_eq!(
        store.rotate(&concurrent).await.unwrap(),
        Rotation::WithinGrace
    );
    let next = rotation(&family, first.next, Duration::from_secs(30));
    assert_eq!(store.rotate(&next).await.unwrap(), Rotation::Rotated);
}

async fn unknown_family_is_revoked(store: Store) {
    let ghost = RefreshFamily {
        id: Uuid::new_v4(),
        user: UserId::generate(),
        device: None,
        current_token: Uuid::new_v4(),
        expires_at: now(),
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
    let rotated = outcomes.iter().filter(|o| **o == Rotation::Rotated).count();
    assert_eq!(rotated, 1, "{outcomes:?}");
    assert!(outcomes.contains(&Rotation::ReuseDetected), "{outcomes:?}");
}

async fn revoke_user_kills_every_family_and_older_access_tokens_only(store: Store) {
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let alice_families = [
        new_family(&store, alice).await,
        new_family(&store, alice).await,
    ];
    let bob_family = new_family(&store, bob).await;
    let before = now();
    let token = Uuid::new_v4();
    let cutoff = before + Duration::from_millis(5);
    store
        .revoke_user(alice, cutoff, cutoff + Duration::from_secs(900))
        .await
        .unwrap();

    for family in &alice_families {
        let request = rotation(family, family.current_token, Duration::ZERO);
        assert_eq!(store.rotate(&request).await.unwrap(), Rotation::Revoked);
    }
    let request = rotation(&bob_family, bob_family.current_token, Duration::ZERO);
    assert_eq!(store.rotate(&request).await.unwrap(), Rotation::Rotated);

    assert!(
        store
            .is_access_token_revoked(alice, None, token, before)
            .await
            .unwrap()
    );
    let issued_after = cutoff + Duration::from_millis(1);
    assert!(
        !store
            .is_access_token_revoked(alice, None, token, issued_after)
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_access_token_revoked(bob, None, token, before)
            .await
            .unwrap()
    );
}

async fn revocation_instant_never_moves_back(store: Store) {
    let user = UserId::generate();
    let later = now() + Duration::from_secs(60);
    store
        .revoke_user(user, later, later + Duration::from_secs(900))
        .await
        .unwrap();
    store
        .revoke_user(user, now(), now() + Duration::from_secs(900))
        .await
        .unwrap();
    let issued = later - Duration::from_secs(1);
    assert!(
        store
            .is_access_token_revoked(user, None, Uuid::new_v4(), issued)
            .await
            .unwrap()
    );
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
            .is_access_token_revoked(user, None, denied, now())
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_access_token_revoked(user, None, other, now())
            .await
            .unwrap()
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
    assert_eq!(store.rotate(&request).await.unwrap(), Rotation::Rotated);

    let token = Uuid::new_v4();
    let before = cutoff - Duration::from_millis(10);
    assert!(
        store
            .is_access_token_revoked(user, Some(phone), token, before)
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_access_token_revoked(user, Some(laptop), token, before)
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_access_token_revoked(user, None, token, before)
            .await
            .unwrap()
    );
    let after = cutoff + Duration::from_millis(1);
    assert!(
        !store
            .is_access_token_revoked(user, Some(phone), token, after)
            .await
            .unwrap()
    );
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
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
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
    revoke_user_kills_every_family_and_older_access_tokens_only,
    revocation_instant_never_moves_back,
    denied_access_tokens_are_revoked_and_others_are_not,
    revoke_device_kills_its_families_and_older_access_tokens_only,
);
