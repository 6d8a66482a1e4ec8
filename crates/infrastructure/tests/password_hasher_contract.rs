//! The `PasswordHasher` contract, run against every adapter: bcrypt on the blocking pool
//! (`BcryptHasher`) and the in-memory one.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use gatehouse_application::ports::PasswordHasher;
use gatehouse_domain::{Password, PasswordHash, PasswordPolicy};
use gatehouse_infrastructure::BcryptHasher;
use gatehouse_memory::InMemoryPasswordHasher;

type Hasher = Arc<dyn PasswordHasher>;

/// bcrypt's lowest cost: the contract is about behaviour, not strength.
const COST: u32 = 4;

fn password(raw: &str) -> Password {
    PasswordPolicy::default()
        .check_standalone(raw)
        .expect("a password the policy accepts")
}

async fn a_hash_verifies_its_password_and_nothing_else(hasher: Hasher) {
    let hash = hasher
        .hash(&password("correct horse battery staple"))
        .await
        .unwrap();
    assert!(
        !hash.as_str().contains("correct horse"),
        "the hash hides the password"
    );
    assert!(
        hasher
            .verify("correct horse battery staple", &hash)
            .await
            .unwrap()
    );
    for wrong in [
        "correct horse battery stapl",
        "",
        "CORRECT HORSE BATTERY STAPLE",
    ] {
        assert!(!hasher.verify(wrong, &hash).await.unwrap(), "{wrong:?}");
    }
}

async fn hashes_are_salted(hasher: Hasher) {
    let one = hasher
        .hash(&password("correct horse battery staple"))
        .await
        .unwrap();
    let two = hasher
        .hash(&password("correct horse battery staple"))
        .await
        .unwrap();
    assert_ne!(one.as_str(), two.as_str());
    assert!(
        hasher
            .verify("correct horse battery staple", &two)
            .await
            .unwrap()
    );
}

async fn a_malformed_stored_hash_opens_nothing(hasher: Hasher) {
    for stored in ["", "not a hash", "$2b$04$short"] {
        let hash = PasswordHash::new(stored.into());
        assert!(
            !hasher.verify("anything", &hash).await.unwrap(),
            "{stored:?}"
        );
    }
}

async fn the_dummy_check_succeeds_whatever_the_candidate(hasher: Hasher) {
    for candidate in ["", "correct horse battery staple"] {
        hasher.verify_dummy(candidate).await.unwrap();
    }
}

/// Hashing runs off the async threads: on a single-threaded runtime, another task keeps
/// running while a hash is computed. (At a cost high enough that the hash cannot finish
/// before the runtime gets to run anything else.)
fn hashing_leaves_the_async_threads_free(hasher: Hasher) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let ticks = Arc::new(AtomicU32::new(0));
        let ticker = {
            let ticks = ticks.clone();
            tokio::spawn(async move {
                loop {
                    ticks.fetch_add(1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                }
            })
        };
        hasher
            .hash(&password("correct horse battery staple"))
            .await
            .unwrap();
        assert!(ticks.load(Ordering::SeqCst) > 0, "the runtime was blocked");
        ticker.abort();
    });
}

fn bcrypt_at(cost: u32) -> Hasher {
    Arc::new(BcryptHasher::new(cost, 2).unwrap())
}

fn in_memory_at(cost: u32) -> Hasher {
    Arc::new(InMemoryPasswordHasher::new(cost).unwrap())
}

/// A cost whose hash takes tens of milliseconds.
const SLOW: u32 = 10;

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod bcrypt_on_the_blocking_pool {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case(super::bcrypt_at(super::COST)).await;
            })*

            #[test]
            fn hashing_leaves_the_async_threads_free() {
                super::hashing_leaves_the_async_threads_free(super::bcrypt_at(super::SLOW));
            }
        }
        mod in_memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case(super::in_memory_at(super::COST)).await;
            })*

            #[test]
            fn hashing_leaves_the_async_threads_free() {
                super::hashing_leaves_the_async_threads_free(super::in_memory_at(super::SLOW));
            }
        }
    };
}

contract!(
    a_hash_verifies_its_password_and_nothing_else,
    hashes_are_salted,
    a_malformed_stored_hash_opens_nothing,
    the_dummy_check_succeeds_whatever_the_candidate,
);

#[test]
fn an_impossible_cost_is_refused() {
    assert!(BcryptHasher::new(3, 1).is_err());
    assert!(InMemoryPasswordHasher::new(3).is_err());
    assert!(InMemoryPasswordHasher::new(32).is_err());
}
