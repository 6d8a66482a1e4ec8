//! The `FactorStore` contract, run against every adapter: in-memory, SQLite and PostgreSQL.
//! The races that make codes single use are run as real concurrent calls.
#![allow(clippy::unwrap_used)] // a test fails by panicking

mod support;

use gatehouse_application::ports::StoredPasskey;
use gatehouse_domain::UserId;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use support::Backend;

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap() + Duration::seconds(seconds)
}

fn passkey(user: UserId, credential: &[u8], created: i64) -> StoredPasskey {
    StoredPasskey {
        id: Uuid::new_v4(),
        user,
        credential_id: credential.to_vec(),
        name: format!("key {created}"),
        passkey: format!("{{\"cred\":{created}}}"),
        created_at: at(created),
        last_used_at: None,
    }
}

fn digests(tag: u8) -> Vec<Vec<u8>> {
    (0..10).map(|i| vec![tag, i, 0xff, 0x00, 7]).collect()
}

/// Pending until confirmed with the secret it was started with; restarting replaces a
/// pending secret, never a confirmed one.
async fn an_enrolment_is_pending_until_its_own_secret_is_confirmed(db: Backend) {
    let store = db.factors();
    let user = db.user("ana").await;
    assert_eq!(store.totp(user).await.unwrap(), None);
    assert!(store.put_pending_totp(user, b"first", at(0)).await.unwrap());
    assert!(
        store
            .put_pending_totp(user, b"second", at(1))
            .await
            .unwrap()
    );
    let pending = store.totp(user).await.unwrap().unwrap();
    assert_eq!(
        (pending.sealed_secret.as_slice(), pending.confirmed),
        (&b"second"[..], false)
    );
    assert_eq!(pending.created_at, at(1));
    assert!(
        !store.accept_totp_step(user, 10).await.unwrap(),
        "pending codes sign nobody in"
    );
    assert!(
        !store
            .confirm_totp(user, b"first", 10, &digests(1), at(2))
            .await
            .unwrap()
    );
    assert!(
        store
            .confirm_totp(user, b"second", 10, &digests(1), at(2))
            .await
            .unwrap()
    );
    assert!(
        !store
            .confirm_totp(user, b"second", 11, &digests(2), at(3))
            .await
            .unwrap()
    );
    let confirmed = store.totp(user).await.unwrap().unwrap();
    assert!(confirmed.confirmed);
    assert_eq!(confirmed.last_step, Some(10));
    assert_eq!(store.recovery_codes_left(user).await.unwrap(), 10);
    assert!(!store.put_pending_totp(user, b"third", at(4)).await.unwrap());
    assert_eq!(
        store.totp(user).await.unwrap().unwrap().sealed_secret,
        b"second"
    );
    assert!(store.remove_totp(user).await.unwrap());
    assert!(!store.remove_totp(user).await.unwrap());
    assert!(
        store
            .put_pending_totp(user, b"fourth", at(5))
            .await
            .unwrap()
    );
}

/// A step is accepted once and never one at or before the last accepted, however many
/// requests race for it.
async fn a_time_step_is_accepted_once_even_by_concurrent_requests(db: Backend) {
    let store = db.factors();
    let user = db.user("bea").await;
    assert!(store.put_pending_totp(user, b"s", at(0)).await.unwrap());
    assert!(
        store
            .confirm_totp(user, b"s", 100, &[], at(0))
            .await
            .unwrap()
    );
    assert!(!store.accept_totp_step(user, 100).await.unwrap());
    assert!(!store.accept_totp_step(user, 99).await.unwrap());
    let racers = (0..16).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.accept_totp_step(user, 101).await.unwrap() })
    });
    let won = futures_util::future::join_all(racers)
        .await
        .into_iter()
        .filter(|won| *won.as_ref().unwrap())
        .count();
    assert_eq!(won, 1);
    assert!(store.accept_totp_step(user, 103).await.unwrap());
    assert!(!store.accept_totp_step(user, 102).await.unwrap());
    assert_eq!(
        store.totp(user).await.unwrap().unwrap().last_step,
        Some(103)
    );
    let stranger = db.user("stranger").await;
    assert!(!store.accept_totp_step(stranger, 500).await.unwrap());
}

/// A recovery code works once, for its owner only; replacing the set kills the old codes.
async fn recovery_codes_are_single_use_and_replaced_whole(db: Backend) {
    let store = db.factors();
    let (cleo, dan) = (db.user("cleo").await, db.user("dan").await);
    store
        .replace_recovery_codes(cleo, &digests(1), at(0))
        .await
        .unwrap();
    store
        .replace_recovery_codes(dan, &digests(1), at(0))
        .await
        .unwrap();
    let code = digests(1)[4].clone();
    let racers = (0..16).map(|_| {
        let (store, code) = (store.clone(), code.clone());
        tokio::spawn(async move { store.use_recovery_code(cleo, &code).await.unwrap() })
    });
    let won = futures_util::future::join_all(racers)
        .await
        .into_iter()
        .filter(|won| *won.as_ref().unwrap())
        .count();
    assert_eq!(won, 1);
    assert_eq!(store.recovery_codes_left(cleo).await.unwrap(), 9);
    assert_eq!(
        store.recovery_codes_left(dan).await.unwrap(),
        10,
        "another user's copy"
    );
    assert!(store.use_recovery_code(dan, &code).await.unwrap());
    store
        .replace_recovery_codes(cleo, &digests(2), at(1))
        .await
        .unwrap();
    assert!(!store.use_recovery_code(cleo, &digests(1)[5]).await.unwrap());
    assert!(store.use_recovery_code(cleo, &digests(2)[5]).await.unwrap());
    store
        .replace_recovery_codes(cleo, &[], at(2))
        .await
        .unwrap();
    assert_eq!(store.recovery_codes_left(cleo).await.unwrap(), 0);
}

/// Passkeys: listed oldest first per owner, found by credential id, a credential id
/// registered once, removed only by their owner, their use recorded.
async fn passkeys_belong_to_one_account(db: Backend) {
    let store = db.factors();
    let (eve, fay) = (db.user("eve").await, db.user("fay").await);
    let (older, newer) = (passkey(eve, b"cred-1", 5), passkey(eve, b"cred-2", 9));
    assert!(store.add_passkey(&newer).await.unwrap());
    assert!(store.add_passkey(&older).await.unwrap());
    assert!(
        !store
            .add_passkey(&passkey(fay, b"cred-1", 12))
            .await
            .unwrap()
    );
    assert_eq!(
        store.passkeys(eve).await.unwrap(),
        vec![older.clone(), newer.clone()]
    );
    assert!(store.passkeys(fay).await.unwrap().is_empty());
    let found = store
        .passkey_by_credential(b"cred-2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, newer);
    assert_eq!(store.passkey_by_credential(b"nope").await.unwrap(), None);
    store
        .passkey_used(older.id, Some("{\"cred\":6}".into()), at(20))
        .await
        .unwrap();
    store.passkey_used(newer.id, None, at(21)).await.unwrap();
    let listed = store.passkeys(eve).await.unwrap();
    assert_eq!(
        (listed[0].passkey.as_str(), listed[0].last_used_at),
        ("{\"cred\":6}", Some(at(20)))
    );
    assert_eq!(
        (listed[1].passkey.as_str(), listed[1].last_used_at),
        (newer.passkey.as_str(), Some(at(21)))
    );
    assert!(
        !store.remove_passkey(fay, older.id).await.unwrap(),
        "not hers"
    );
    assert!(store.remove_passkey(eve, older.id).await.unwrap());
    assert!(!store.remove_passkey(eve, older.id).await.unwrap());
    assert!(
        store
            .add_passkey(&passkey(fay, b"cred-1", 30))
            .await
            .unwrap(),
        "free again"
    );
}

/// A reset removes every factor of one user and nobody else's.
async fn a_reset_removes_every_factor_of_one_user(db: Backend) {
    let store = db.factors();
    let (gus, hal) = (db.user("gus").await, db.user("hal").await);
    for user in [gus, hal] {
        assert!(store.put_pending_totp(user, b"s", at(0)).await.unwrap());
        assert!(
            store
                .confirm_totp(user, b"s", 1, &digests(3), at(0))
                .await
                .unwrap()
        );
    }
    assert!(
        store
            .add_passkey(&passkey(gus, b"gus-key", 1))
            .await
            .unwrap()
    );
    assert!(
        store
            .add_passkey(&passkey(hal, b"hal-key", 1))
            .await
            .unwrap()
    );
    assert!(store.remove_all(gus).await.unwrap());
    assert!(!store.remove_all(gus).await.unwrap(), "nothing left");
    assert_eq!(store.totp(gus).await.unwrap(), None);
    assert_eq!(store.recovery_codes_left(gus).await.unwrap(), 0);
    assert!(store.passkeys(gus).await.unwrap().is_empty());
    assert!(store.totp(hal).await.unwrap().unwrap().confirmed);
    assert_eq!(store.recovery_codes_left(hal).await.unwrap(), 10);
    assert_eq!(store.passkeys(hal).await.unwrap().len(), 1);
}

/// A master-key rotation lists every sealed secret and replaces each only if unchanged.
async fn a_secret_is_resealed_only_if_it_did_not_change_meanwhile(db: Backend) {
    let store = db.factors();
    let (ivy, jon) = (db.user("ivy").await, db.user("jon").await);
    assert!(
        store
            .put_pending_totp(ivy, b"ivy-old", at(0))
            .await
            .unwrap()
    );
    assert!(
        store
            .put_pending_totp(jon, b"jon-old", at(0))
            .await
            .unwrap()
    );
    assert!(
        store
            .confirm_totp(jon, b"jon-old", 7, &[], at(1))
            .await
            .unwrap()
    );
    let mut listed = store.sealed_totp_secrets().await.unwrap();
    listed.sort();
    let mut expected = vec![(ivy, b"ivy-old".to_vec()), (jon, b"jon-old".to_vec())];
    expected.sort();
    assert_eq!(listed, expected);
    assert!(
        store
            .reseal_totp(jon, b"jon-old", b"jon-new")
            .await
            .unwrap()
    );
    assert!(
        !store
            .reseal_totp(jon, b"jon-old", b"jon-newer")
            .await
            .unwrap(),
        "changed"
    );
    let jon_now = store.totp(jon).await.unwrap().unwrap();
    assert_eq!(jon_now.sealed_secret, b"jon-new");
    assert!(
        jon_now.confirmed && jon_now.last_step == Some(7),
        "only the seal changes"
    );
    assert!(
        !store.reseal_totp(ivy, b"jon-new", b"x").await.unwrap(),
        "another's value"
    );
    assert_eq!(
        store.totp(ivy).await.unwrap().unwrap().sealed_secret,
        b"ivy-old"
    );
}

database_contract!(
    a_secret_is_resealed_only_if_it_did_not_change_meanwhile,
    an_enrolment_is_pending_until_its_own_secret_is_confirmed,
    a_time_step_is_accepted_once_even_by_concurrent_requests,
    recovery_codes_are_single_use_and_replaced_whole,
    passkeys_belong_to_one_account,
    a_reset_removes_every_factor_of_one_user,
);
