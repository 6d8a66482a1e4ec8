//! Revocations read from a real Redis, written exactly as Gatehouse writes them (Redis from
//! `GATEHOUSE_TEST_REDIS_URL` or the default local port; each test uses its own key prefix).
//! That Gatehouse's own store writes these keys is checked end to end by
//! `examples/protected-api`.
#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use std::time::Duration;

use common::{AUDIENCE, ISSUER, TestKey, access_payload, payload_with};
use gatehouse_verify::fred::prelude::{
    Builder, Client, ClientLike, Config, Expiration, KeysInterface,
};
use gatehouse_verify::{RedisRevocation, Verifier, VerifierConfig, VerifyError};
use serde_json::{Value, json};
use uuid::Uuid;

struct Setup {
    verifier: Verifier,
    key: TestKey,
    redis: Client,
    prefix: String,
}

impl Setup {
    /// Writes a key under this test's prefix; it expires on its own after a minute.
    async fn set(&self, suffix: String, value: impl ToString) {
        let key = format!("{}{suffix}", self.prefix);
        let _: () = self
            .redis
            .set(
                key,
                value.to_string(),
                Some(Expiration::EX(60)),
                None,
                false,
            )
            .await
            .unwrap();
    }

    async fn verify(&self, payload: &Value) -> Result<gatehouse_verify::Claims, VerifyError> {
        self.verifier.verify(&self.key.sign(payload)).await
    }
}

async fn setup() -> Option<Setup> {
    let gatehouse_testing::TestRedis { url, prefix } = gatehouse_testing::redis().await?;
    let key = TestKey::ed25519();
    let config = VerifierConfig::new("http://127.0.0.1:9", ISSUER, AUDIENCE);
    let revocation = RedisRevocation::connect(&url, prefix.clone())
        .await
        .unwrap();
    let verifier = Verifier::from_jwks(config, &key.jwks())
        .unwrap()
        .with_revocation(revocation);
    let redis = Builder::from_config(Config::from_url(&url).unwrap())
        .build()
        .unwrap();
    redis.init().await.unwrap();
    Some(Setup {
        verifier,
        key,
        redis,
        prefix,
    })
}

#[tokio::test]
#[cfg_attr(
    gatehouse_no_redis,
    ignore = "needs Redis: start it on its default local port or set GATEHOUSE_TEST_REDIS_URL"
)]
async fn a_token_nothing_revoked_passes() {
    let Some(s) = setup().await else { return };
    let payload = access_payload();
    s.verify(&payload).await.unwrap();
    // Another user's, device's and token's revocations are not this token's.
    s.set(format!("at:deny:{}", Uuid::new_v4()), 1).await;
    s.set(format!("at:floor:{}", Uuid::new_v4()), 99).await;
    s.set(format!("at:device-before:{}", Uuid::new_v4()), i64::MAX)
        .await;
    s.verify(&payload).await.unwrap();
}

#[tokio::test]
#[cfg_attr(
    gatehouse_no_redis,
    ignore = "needs Redis: start it on its default local port or set GATEHOUSE_TEST_REDIS_URL"
)]
async fn a_denied_token_is_revoked() {
    let Some(s) = setup().await else { return };
    let payload = access_payload();
    s.set(format!("at:deny:{}", payload["jti"].as_str().unwrap()), 1)
        .await;
    assert_eq!(s.verify(&payload).await, Err(VerifyError::Revoked));
    assert_eq!(VerifyError::Revoked.code(), "token_invalid");
    // The user's other tokens are not.
    s.verify(&payload_with(json!({"sub": payload["sub"]})))
        .await
        .unwrap();
}

#[tokio::test]
#[cfg_attr(
    gatehouse_no_redis,
    ignore = "needs Redis: start it on its default local port or set GATEHOUSE_TEST_REDIS_URL"
)]
async fn a_stamp_below_the_users_floor_is_revoked() {
    let Some(s) = setup().await else { return };
    let payload = access_payload(); // stm 7
    let user = payload["sub"].as_str().unwrap().to_owned();
    s.set(format!("at:floor:{user}"), 7).await;
    s.verify(&payload).await.unwrap();
    s.set(format!("at:floor:{user}"), 8).await;
    assert_eq!(s.verify(&payload).await, Err(VerifyError::Revoked));
    // A token from before stamps existed reads as stamp 0.
    let legacy = payload_with(json!({"sub": user, "stm": null}));
    assert_eq!(s.verify(&legacy).await, Err(VerifyError::Revoked));
    // A token issued after the sign-out carries the new stamp.
    s.verify(&payload_with(json!({"sub": user, "stm": 8})))
        .await
        .unwrap();
}

#[tokio::test]
#[cfg_attr(
    gatehouse_no_redis,
    ignore = "needs Redis: start it on its default local port or set GATEHOUSE_TEST_REDIS_URL"
)]
async fn tokens_up_to_a_device_revocation_instant_are_revoked() {
    let Some(s) = setup().await else { return };
    let payload = access_payload();
    let device = payload["dev"].as_str().unwrap().to_owned();
    let issued = payload["iat_ms"].as_i64().unwrap();
    s.set(format!("at:device-before:{device}"), issued - 1)
        .await;
    s.verify(&payload).await.unwrap();
    s.set(format!("at:device-before:{device}"), issued).await;
    assert_eq!(s.verify(&payload).await, Err(VerifyError::Revoked));
    // The same user on another device, or on none, is still signed in.
    let user = payload["sub"].clone();
    s.verify(&payload_with(json!({"sub": user, "dev": Uuid::new_v4()})))
        .await
        .unwrap();
    s.verify(&payload_with(json!({"sub": user, "dev": null})))
        .await
        .unwrap();
}

#[tokio::test]
#[cfg_attr(
    gatehouse_no_redis,
    ignore = "needs Redis: start it on its default local port or set GATEHOUSE_TEST_REDIS_URL"
)]
async fn an_earlier_gatehouse_users_instant_counts_unless_it_is_ours() {
    let Some(s) = setup().await else { return };
    let payload = access_payload();
    let user = payload["sub"].as_str().unwrap().to_owned();
    let issued = payload["iat_ms"].as_i64().unwrap();
    s.set(format!("at:before:{user}"), issued).await;
    s.set(format!("at:before-ours:{user}"), issued).await;
    s.verify(&payload).await.unwrap();
    s.set(format!("at:before-ours:{user}"), issued - 5).await;
    assert_eq!(s.verify(&payload).await, Err(VerifyError::Revoked));
}

#[tokio::test]
#[cfg_attr(
    gatehouse_no_redis,
    ignore = "needs Redis: start it on its default local port or set GATEHOUSE_TEST_REDIS_URL"
)]
async fn redis_unreachable_fails_closed() {
    let Some(s) = setup().await else { return };
    // Nothing listens on port 9 (discard) here.
    assert!(
        RedisRevocation::connect("redis://127.0.0.1:9", "x:")
            .await
            .is_err()
    );
    assert!(RedisRevocation::connect("not a url", "x:").await.is_err());
    // A pool that never connected: every command fails within its timeout.
    let pool = Builder::from_config(Config::from_url("redis://127.0.0.1:9").unwrap())
        .with_performance_config(|c| c.default_command_timeout = Duration::from_millis(300))
        .build_pool(1)
        .unwrap();
    let verifier = s
        .verifier
        .clone()
        .with_revocation(RedisRevocation::new(pool, "x:"));
    let error = verifier
        .verify(&s.key.sign(&access_payload()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, VerifyError::RevocationUnavailable(_)),
        "{error:?}"
    );
    assert_eq!(error.http_status(), 503);
}

/// A role or permission change: the tokens issued up to it carry the old grant and are
/// refused, on every device; tokens issued after it pass.
#[tokio::test]
#[cfg_attr(
    gatehouse_no_redis,
    ignore = "needs Redis: start it on its default local port or set GATEHOUSE_TEST_REDIS_URL"
)]
async fn tokens_issued_before_a_grant_change_are_refused() {
    let Some(s) = setup().await else { return };
    let payload = access_payload();
    let user = payload["sub"].as_str().unwrap().to_owned();
    let issued = payload["iat_ms"].as_i64().unwrap();
    s.set(format!("at:grant-before:{user}"), issued - 1).await;
    s.verify(&payload).await.unwrap();
    s.set(format!("at:grant-before:{user}"), issued).await;
    assert_eq!(s.verify(&payload).await, Err(VerifyError::Revoked));
    assert_eq!(
        s.verify(&payload_with(
            json!({"sub": user, "dev": null, "iat_ms": issued})
        ))
        .await,
        Err(VerifyError::Revoked)
    );
}
