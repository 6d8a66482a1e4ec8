//! The `SigningKeyStore` contract, run against every adapter: in-memory, SQLite and
//! PostgreSQL. The keys stored are real ones, sealed under a master key, as the service
//! stores them.
#![allow(clippy::unwrap_used)] // a test fails by panicking

mod support;

use gatehouse_application::ports::StoredSigningKey;
use gatehouse_domain::KeyState;
use gatehouse_infrastructure::signing::{
    KeyAlgorithm, MASTER_KEY_BYTES, MasterKey, SealPurpose, generate, seal_label,
};
use secrecy::ExposeSecret;
use time::{Duration, OffsetDateTime};

use support::Backend;

fn master() -> MasterKey {
    MasterKey::from_bytes(&vec![3u8; MASTER_KEY_BYTES].into()).unwrap()
}

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap() + Duration::seconds(seconds)
}

fn key(state: KeyState, created: i64) -> StoredSigningKey {
    let generated = generate(KeyAlgorithm::EdDsa).unwrap();
    StoredSigningKey {
        sealed_private_key: master()
            .seal(
                SealPurpose::SigningKey,
                &generated.seal_label().unwrap(),
                generated.private_der.expose_secret(),
            )
            .unwrap(),
        kid: generated.kid,
        algorithm: KeyAlgorithm::EdDsa.as_str().into(),
        state,
        public_jwk: serde_json::to_string(&generated.public_jwk).unwrap(),
        created_at: at(created),
        activated_at: (state == KeyState::Current).then(|| at(created)),
        retired_at: None,
    }
}

async fn keys_round_trip_and_their_private_half_opens(db: Backend) {
    let store = db.signing_keys();
    assert!(store.published().await.unwrap().is_empty());
    let current = key(KeyState::Current, 0);
    assert!(store.insert(&current).await.unwrap());
    let stored = store.published().await.unwrap();
    assert_eq!(stored, std::slice::from_ref(&current));
    let label = seal_label(&current.kid, KeyAlgorithm::EdDsa, &stored[0].public_jwk);
    let private = master()
        .open(
            SealPurpose::SigningKey,
            &label,
            &stored[0].sealed_private_key,
        )
        .unwrap();
    assert!(!private.expose_secret().is_empty());
    // A public half swapped in the store no longer matches what the private half was sealed
    // with: the key does not open, so it can never be published or used.
    let other = generate(KeyAlgorithm::EdDsa).unwrap();
    let swapped_jwk = serde_json::to_string(&other.public_jwk).unwrap();
    let swapped = seal_label(&current.kid, KeyAlgorithm::EdDsa, &swapped_jwk);
    assert!(
        master()
            .open(
                SealPurpose::SigningKey,
                &swapped,
                &stored[0].sealed_private_key
            )
            .is_err()
    );
}

async fn one_current_and_one_next_at_most(db: Backend) {
    let store = db.signing_keys();
    assert!(store.insert(&key(KeyState::Current, 0)).await.unwrap());
    assert!(!store.insert(&key(KeyState::Current, 1)).await.unwrap());
    assert!(store.insert(&key(KeyState::Next, 2)).await.unwrap());
    assert!(!store.insert(&key(KeyState::Next, 3)).await.unwrap());
    assert!(
        store.insert(&key(KeyState::Retired, 4)).await.is_err(),
        "new keys are current or next"
    );
    let mut unactivated = key(KeyState::Current, 5);
    unactivated.activated_at = None;
    assert!(
        store.insert(&unactivated).await.is_err(),
        "a current key has started signing"
    );
    let mut early = key(KeyState::Next, 6);
    early.activated_at = Some(at(6));
    assert!(store.insert(&early).await.is_err(), "a next key has not");
    assert_eq!(store.published().await.unwrap().len(), 2);
}

async fn instances_creating_the_first_key_at_once_agree_on_one(db: Backend) {
    let store = db.signing_keys();
    let creators = (0..6).map(|i| {
        let (store, candidate) = (store.clone(), key(KeyState::Current, i));
        tokio::spawn(async move { store.insert(&candidate).await.unwrap() })
    });
    let mut won = 0;
    for creator in creators.collect::<Vec<_>>() {
        won += usize::from(creator.await.unwrap());
    }
    assert_eq!(won, 1);
    assert_eq!(store.published().await.unwrap().len(), 1);
}

async fn a_promotion_retires_the_current_key_in_the_same_step(db: Backend) {
    let store = db.signing_keys();
    let (old, new) = (key(KeyState::Current, 0), key(KeyState::Next, 10));
    assert!(store.insert(&old).await.unwrap());
    assert!(store.insert(&new).await.unwrap());
    assert!(
        store
            .promote(&new.kid, Some(&old.kid), at(20))
            .await
            .unwrap()
    );
    let keys = store.published().await.unwrap();
    let state = |kid: &str| keys.iter().find(|k| k.kid == kid).unwrap().clone();
    assert_eq!(state(&old.kid).state, KeyState::Retired);
    assert_eq!(state(&old.kid).retired_at, Some(at(20)));
    assert_eq!(state(&new.kid).state, KeyState::Current);
    assert_eq!(state(&new.kid).activated_at, Some(at(20)));
    assert!(
        !store
            .promote(&new.kid, Some(&old.kid), at(21))
            .await
            .unwrap(),
        "a key is promoted once"
    );
    // A next key cannot become current beside another current key.
    let newer = key(KeyState::Next, 30);
    assert!(store.insert(&newer).await.unwrap());
    assert!(!store.promote(&newer.kid, None, at(31)).await.unwrap());
    assert_eq!(
        store
            .published()
            .await
            .unwrap()
            .iter()
            .filter(|k| k.state == KeyState::Current)
            .count(),
        1
    );
}

async fn concurrent_promotions_promote_once(db: Backend) {
    let store = db.signing_keys();
    let (old, new) = (key(KeyState::Current, 0), key(KeyState::Next, 10));
    assert!(store.insert(&old).await.unwrap());
    assert!(store.insert(&new).await.unwrap());
    let promotions = (0..6).map(|_| {
        let (store, old, new) = (store.clone(), old.kid.clone(), new.kid.clone());
        tokio::spawn(async move { store.promote(&new, Some(&old), at(20)).await.unwrap() })
    });
    let mut done = 0;
    for promotion in promotions.collect::<Vec<_>>() {
        done += usize::from(promotion.await.unwrap());
    }
    assert_eq!(done, 1);
}

async fn only_retired_keys_are_removed_and_then_unpublished(db: Backend) {
    let store = db.signing_keys();
    let (old, new) = (key(KeyState::Current, 0), key(KeyState::Next, 10));
    assert!(store.insert(&old).await.unwrap());
    assert!(store.insert(&new).await.unwrap());
    assert!(
        !store.remove(&old.kid, at(15)).await.unwrap(),
        "current keys stay"
    );
    assert!(
        store
            .promote(&new.kid, Some(&old.kid), at(20))
            .await
            .unwrap()
    );
    assert!(store.remove(&old.kid, at(30)).await.unwrap());
    // Nothing signs with it any more: its private half is erased, not kept for ever.
    if let Backend::Database(connection) = &db {
        use sea_orm::{ConnectionTrait, Statement};
        let row = connection
            .query_one_raw(Statement::from_string(
                connection.get_database_backend(),
                format!(
                    "SELECT length(sealed_private_key) AS n FROM signing_keys WHERE kid = '{}'",
                    old.kid
                ),
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<i32>("", "n").unwrap(), 0);
    }
    assert!(!store.remove(&old.kid, at(31)).await.unwrap());
    let kids: Vec<String> = store
        .published()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(kids, [new.kid]);
}

/// A key's sealed half is replaced only from the value the caller read: of two instances
/// resealing at once, one wins; a removed key is not brought back.
async fn a_reseal_replaces_only_the_sealed_half_it_read(db: Backend) {
    let store = db.signing_keys();
    let current = key(KeyState::Current, 0);
    assert!(store.insert(&current).await.unwrap());
    let old = current.sealed_private_key.clone();
    let (first, second) = (vec![1u8, 2, 3], vec![4u8, 5, 6]);
    let (a, b) = tokio::join!(
        store.reseal(&current.kid, &old, &first),
        store.reseal(&current.kid, &old, &second)
    );
    assert_eq!(
        [a.unwrap(), b.unwrap()].iter().filter(|won| **won).count(),
        1
    );
    let stored = &store.published().await.unwrap()[0];
    assert!(stored.sealed_private_key == first || stored.sealed_private_key == second);
    assert_eq!(stored.public_jwk, current.public_jwk);
    assert!(!store.reseal(&current.kid, &old, &first).await.unwrap());
    assert!(
        !store
            .reseal("no-such-kid", &stored.sealed_private_key, &first)
            .await
            .unwrap()
    );
}

/// The first activation outlives its key: it is when HS256 signing ended, for good.
async fn the_first_activation_is_remembered_after_its_key_is_removed(db: Backend) {
    let store = db.signing_keys();
    assert_eq!(store.first_activated_at().await.unwrap(), None);
    let first = key(KeyState::Current, 10);
    assert!(store.insert(&first).await.unwrap());
    let next = key(KeyState::Next, 20);
    assert!(store.insert(&next).await.unwrap());
    assert_eq!(store.first_activated_at().await.unwrap(), Some(at(10)));
    assert!(
        store
            .promote(&next.kid, Some(&first.kid), at(30))
            .await
            .unwrap()
    );
    assert!(store.remove(&first.kid, at(40)).await.unwrap());
    assert_eq!(store.first_activated_at().await.unwrap(), Some(at(10)));
}

/// Only a next key is discarded; then another may be made.
async fn a_next_key_is_discarded_and_no_other(db: Backend) {
    let store = db.signing_keys();
    let current = key(KeyState::Current, 0);
    let next = key(KeyState::Next, 10);
    assert!(store.insert(&current).await.unwrap());
    assert!(store.insert(&next).await.unwrap());
    assert!(!store.discard_next(&current.kid, at(20)).await.unwrap());
    assert!(store.discard_next(&next.kid, at(20)).await.unwrap());
    assert!(!store.discard_next(&next.kid, at(20)).await.unwrap());
    let published = store.published().await.unwrap();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].kid, current.kid);
    assert!(store.insert(&key(KeyState::Next, 30)).await.unwrap());
}

database_contract!(
    a_next_key_is_discarded_and_no_other,
    the_first_activation_is_remembered_after_its_key_is_removed,
    a_reseal_replaces_only_the_sealed_half_it_read,
    keys_round_trip_and_their_private_half_opens,
    one_current_and_one_next_at_most,
    instances_creating_the_first_key_at_once_agree_on_one,
    a_promotion_retires_the_current_key_in_the_same_step,
    concurrent_promotions_promote_once,
    only_retired_keys_are_removed_and_then_unpublished,
);
