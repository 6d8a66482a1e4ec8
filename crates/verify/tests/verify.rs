//! The verifier against a real (local) JWKS endpoint.
#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{AUDIENCE, ISSUER, JwksServer, TestKey, access_payload, payload_with};
use gatehouse_verify::{Algorithm, Verifier, VerifierConfig, VerifyError};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;
use uuid::Uuid;

/// Longer than any step of a test takes, so "within the interval" holds on a slow machine.
const INTERVAL: Duration = Duration::from_millis(1500);

async fn served(key: &TestKey) -> (JwksServer, Verifier) {
    let server = JwksServer::start(vec![key.jwk.clone()], Some("public, max-age=300")).await;
    let verifier = Verifier::new(server.config(INTERVAL)).unwrap();
    (server, verifier)
}

fn b64(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn a_valid_token_gives_its_claims() {
    let key = TestKey::ed25519();
    let (server, verifier) = served(&key).await;
    let payload = access_payload();
    let claims = verifier.verify(&key.sign(&payload)).await.unwrap();
    assert_eq!(claims.subject.to_string(), payload["sub"]);
    assert_eq!(claims.token_id.to_string(), payload["jti"]);
    assert_eq!(claims.device.unwrap().to_string(), payload["dev"]);
    assert_eq!(claims.stamp, 7);
    assert_eq!(claims.role, "user");
    assert!(claims.has_permission("can_view_users") && !claims.is_admin());
    assert_eq!(claims.amr, ["pwd"]);
    assert_eq!(claims.issuer, ISSUER);
    assert_eq!(claims.audience, AUDIENCE);
    let iat_ms = payload["iat_ms"].as_i64().unwrap();
    assert_eq!(
        claims.issued_at.unix_timestamp_nanos(),
        i128::from(iat_ms) * 1_000_000
    );
    assert_eq!(
        claims.expires_at.unix_timestamp(),
        payload["exp"].as_i64().unwrap()
    );
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn every_gatehouse_algorithm_verifies_from_one_key_set() {
    let (ed, ec) = (TestKey::ed25519(), TestKey::es256());
    let server = JwksServer::start(vec![ed.jwk.clone(), ec.jwk.clone()], None).await;
    let verifier = Verifier::new(server.config(INTERVAL)).unwrap();
    for key in [&ed, &ec] {
        assert!(
            verifier.verify(&key.sign(&access_payload())).await.is_ok(),
            "{:?}",
            key.algorithm
        );
    }
    // A token naming the other key's algorithm, or the other key, is forged.
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(ed.kid.clone());
    let swapped = jsonwebtoken::encode(&header, &access_payload(), &ec.encoding).unwrap();
    assert_eq!(verifier.verify(&swapped).await, Err(VerifyError::Invalid));
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn an_expired_token_is_expired() {
    let key = TestKey::ed25519();
    let (_server, verifier) = served(&key).await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let token = key.sign(&payload_with(json!({"exp": now - 2})));
    assert_eq!(verifier.verify(&token).await, Err(VerifyError::Expired));
}

#[tokio::test]
async fn forged_and_malformed_tokens_are_invalid() {
    let key = TestKey::ed25519();
    let (_server, verifier) = served(&key).await;
    let token = key.sign(&access_payload());
    let parts: Vec<&str> = token.split('.').collect();

    let promoted = b64(&payload_with(json!({"role": "admin"})));
    let tampered = format!("{}.{promoted}.{}", parts[0], parts[2]);
    let truncated = &token[..token.len() - 3];
    let no_signature = format!("{}.{}.", parts[0], parts[1]);
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": key.kid})),
        parts[1]
    );
    let garbage = [
        "", ".", "..", "a.b.c", "a.b", "a.b.c.d", "\u{0}", "ey.ey.ey", "Bearer x",
    ];
    let long = "a".repeat(100_000);
    let mut cases = vec![
        tampered.as_str(),
        truncated,
        no_signature.as_str(),
        none.as_str(),
        long.as_str(),
    ];
    cases.extend(garbage);
    for case in cases {
        let short: String = case.chars().take(40).collect();
        assert_eq!(
            verifier.verify(case).await,
            Err(VerifyError::Invalid),
            "{short}"
        );
    }
}

/// The classic key confusion: an HS256 token whose HMAC secret is the public key, as a
/// verifier that let the token pick the algorithm would accept.
#[tokio::test]
async fn an_hs256_token_signed_with_the_public_key_is_invalid() {
    let key = TestKey::ed25519();
    let (_server, verifier) = served(&key).await;
    let x = URL_SAFE_NO_PAD
        .decode(key.jwk["x"].as_str().unwrap())
        .unwrap();
    let secrets = [
        x,
        key.jwk.to_string().into_bytes(),
        key.jwk["x"].as_str().unwrap().as_bytes().to_vec(),
    ];
    for secret in secrets {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.kid.clone());
        let token = jsonwebtoken::encode(
            &header,
            &access_payload(),
            &EncodingKey::from_secret(&secret),
        )
        .unwrap();
        assert_eq!(verifier.verify(&token).await, Err(VerifyError::Invalid));
    }
    // Even a verifier configured to allow HS256 cannot be built.
    let mut config = VerifierConfig::new("http://127.0.0.1:9", ISSUER, AUDIENCE);
    config.algorithms.push(Algorithm::HS256);
    assert!(Verifier::new(config).is_err());
}

#[tokio::test]
async fn another_issuer_audience_or_token_type_is_invalid() {
    let key = TestKey::ed25519();
    let (_server, verifier) = served(&key).await;
    let cases = [
        json!({"aud": "another-api"}),
        json!({"iss": "someone-else"}),
        json!({"typ": "refresh", "fam": Uuid::new_v4()}),
        json!({"typ": "refresh"}),
        json!({"fam": Uuid::new_v4()}),
        json!({"aud": null}),
        json!({"iss": null}),
        json!({"exp": null}),
        json!({"sub": null}),
        json!({"sub": "not-a-uuid"}),
        json!({"iat_ms": null}),
        json!({"role": null}),
    ];
    for changes in cases {
        let token = key.sign(&payload_with(changes.clone()));
        assert_eq!(
            verifier.verify(&token).await,
            Err(VerifyError::Invalid),
            "{changes}"
        );
    }
    // No kid: which key would it be?
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &access_payload(),
        &key.encoding,
    )
    .unwrap();
    assert_eq!(verifier.verify(&token).await, Err(VerifyError::Invalid));
}

#[tokio::test]
async fn an_unknown_kid_refetches_at_most_once_per_interval() {
    let (old, new, never) = (TestKey::ed25519(), TestKey::ed25519(), TestKey::ed25519());
    let (server, verifier) = served(&old).await;
    verifier.verify(&old.sign(&access_payload())).await.unwrap();
    assert_eq!(server.requests(), 1);

    // Gatehouse publishes a new key; a token signed with it makes the verifier look again.
    server.change(|s| s.keys.push(new.jwk.clone()));
    tokio::time::sleep(INTERVAL + Duration::from_millis(100)).await;
    verifier.verify(&new.sign(&access_payload())).await.unwrap();
    assert_eq!(server.requests(), 2);

    // Within the interval, unknown kids do not fetch again, however many and however
    // concurrent; the known keys go on verifying.
    let stranger = never.sign(&access_payload());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (verifier, token) = (verifier.clone(), stranger.clone());
            tokio::spawn(async move { verifier.verify(&token).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), Err(VerifyError::UnknownKey));
    }
    verifier.verify(&old.sign(&access_payload())).await.unwrap();
    assert_eq!(server.requests(), 2);

    // After it, concurrent callers share one fetch.
    tokio::time::sleep(INTERVAL + Duration::from_millis(100)).await;
    server.change(|s| s.delay = Duration::from_millis(200));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (verifier, token) = (verifier.clone(), stranger.clone());
            tokio::spawn(async move { verifier.verify(&token).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), Err(VerifyError::UnknownKey));
    }
    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn the_key_set_is_cached_for_its_max_age() {
    let key = TestKey::ed25519();
    let server = JwksServer::start(vec![key.jwk.clone()], Some("public, max-age=2")).await;
    let verifier = Verifier::new(server.config(Duration::from_millis(100))).unwrap();
    // Past the refetch interval, within the max-age: nothing to fetch.
    for _ in 0..5 {
        verifier.verify(&key.sign(&access_payload())).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert_eq!(server.requests(), 1);
    tokio::time::sleep(Duration::from_millis(1400)).await;
    verifier.verify(&key.sign(&access_payload())).await.unwrap();
    assert_eq!(server.requests(), 2);
    verifier.verify(&key.sign(&access_payload())).await.unwrap();
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn without_cache_control_the_fallback_max_age_applies() {
    let key = TestKey::ed25519();
    let server = JwksServer::start(vec![key.jwk.clone()], None).await;
    let mut config = server.config(Duration::from_millis(100));
    config.fallback_max_age = Duration::from_secs(1);
    let verifier = Verifier::new(config).unwrap();
    verifier.verify(&key.sign(&access_payload())).await.unwrap();
    verifier.verify(&key.sign(&access_payload())).await.unwrap();
    assert_eq!(server.requests(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    verifier.verify(&key.sign(&access_payload())).await.unwrap();
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn a_key_gatehouse_withdraws_stops_verifying_after_the_next_fetch() {
    let (kept, withdrawn) = (TestKey::ed25519(), TestKey::ed25519());
    let server = JwksServer::start(
        vec![kept.jwk.clone(), withdrawn.jwk.clone()],
        Some("max-age=1"),
    )
    .await;
    let verifier = Verifier::new(server.config(Duration::from_millis(100))).unwrap();
    let token = withdrawn.sign(&access_payload());
    verifier.verify(&token).await.unwrap();
    server.change(|s| s.keys.retain(|k| k["kid"] != withdrawn.kid.as_str()));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(verifier.verify(&token).await, Err(VerifyError::UnknownKey));
    verifier
        .verify(&kept.sign(&access_payload()))
        .await
        .unwrap();
}

#[tokio::test]
async fn cached_keys_outlive_a_failed_fetch_but_unknown_ones_are_unavailable() {
    let key = TestKey::ed25519();
    let server = JwksServer::start(vec![key.jwk.clone()], Some("max-age=1")).await;
    let verifier = Verifier::new(server.config(Duration::from_millis(100))).unwrap();
    verifier.verify(&key.sign(&access_payload())).await.unwrap();
    server.change(|s| s.failing = true);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Stale, the refresh fails: the cached key still verifies.
    verifier.verify(&key.sign(&access_payload())).await.unwrap();
    assert_eq!(server.requests(), 2);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let stranger = TestKey::ed25519().sign(&access_payload());
    assert!(matches!(
        verifier.verify(&stranger).await,
        Err(VerifyError::KeysUnavailable(_))
    ));
    // Gatehouse is back: the unknown key is unknown again, not unavailable.
    server.change(|s| s.failing = false);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        verifier.verify(&stranger).await,
        Err(VerifyError::UnknownKey)
    );
}

/// While Gatehouse cannot be reached, stale keys verify for `max_stale`, then no more: a key
/// withdrawn after a leak does not live on because fetches fail.
#[tokio::test]
async fn stale_keys_stop_verifying_after_max_stale() {
    let key = TestKey::ed25519();
    let server = JwksServer::start(vec![key.jwk.clone()], Some("max-age=0")).await;
    let mut config = server.config(Duration::ZERO);
    config.max_stale = Duration::from_millis(300);
    let verifier = Verifier::new(config).unwrap();
    verifier.verify(&key.sign(&access_payload())).await.unwrap();
    server.change(|s| s.failing = true);
    verifier.verify(&key.sign(&access_payload())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(matches!(
        verifier.verify(&key.sign(&access_payload())).await,
        Err(VerifyError::KeysUnavailable(_))
    ));
    server.change(|s| s.failing = false);
    verifier.verify(&key.sign(&access_payload())).await.unwrap();
}

/// A shared cache's `Age` shortens the freshness: a response already held for its whole
/// max-age is stale at once.
#[tokio::test]
async fn the_age_a_shared_cache_adds_counts_against_the_max_age() {
    let key = TestKey::ed25519();
    let server = JwksServer::start(vec![key.jwk.clone()], Some("max-age=60")).await;
    server.change(|s| s.age = Some(60));
    let verifier = Verifier::new(server.config(Duration::ZERO)).unwrap();
    verifier.verify(&key.sign(&access_payload())).await.unwrap();
    verifier.verify(&key.sign(&access_payload())).await.unwrap();
    assert_eq!(server.requests(), 2, "the set was stale on arrival");
    server.change(|s| s.age = Some(30));
    verifier.verify(&key.sign(&access_payload())).await.unwrap();
    verifier.verify(&key.sign(&access_payload())).await.unwrap();
    assert_eq!(server.requests(), 3, "fresh for the 30 s left");
    // A cache serving a set stale for longer than max_stale (Gatehouse down behind it): not
    // trusted, however often it is fetched.
    let mut config = server.config(Duration::ZERO);
    config.max_stale = Duration::from_secs(600);
    let strict = Verifier::new(config).unwrap();
    server.change(|s| s.age = Some(60 + 601));
    assert!(matches!(
        strict.verify(&key.sign(&access_payload())).await,
        Err(VerifyError::KeysUnavailable(_))
    ));
}

#[tokio::test]
async fn without_any_key_set_tokens_cannot_be_checked() {
    let key = TestKey::ed25519();
    let server = JwksServer::start(vec![key.jwk.clone()], None).await;
    server.change(|s| s.failing = true);
    let verifier = Verifier::new(server.config(INTERVAL)).unwrap();
    let token = key.sign(&access_payload());
    let error = verifier.verify(&token).await.unwrap_err();
    assert!(
        matches!(error, VerifyError::KeysUnavailable(_)),
        "{error:?}"
    );
    assert_eq!(error.code(), "service_unavailable");
    assert!(verifier.load_keys().await.is_err());
    // Nothing listens on port 9 (discard) here: a refused connection is unavailable too.
    let config = VerifierConfig::new("http://127.0.0.1:9", ISSUER, AUDIENCE);
    let unreachable = Verifier::new(config).unwrap();
    assert!(matches!(
        unreachable.verify(&token).await,
        Err(VerifyError::KeysUnavailable(_))
    ));
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn load_keys_fetches_once_ahead_of_the_first_token() {
    let key = TestKey::ed25519();
    let (server, verifier) = served(&key).await;
    verifier.load_keys().await.unwrap();
    verifier.load_keys().await.unwrap();
    verifier.verify(&key.sign(&access_payload())).await.unwrap();
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_fixed_key_set_verifies_without_fetching() {
    let key = TestKey::ed25519();
    let config = VerifierConfig::new("http://127.0.0.1:9", ISSUER, AUDIENCE);
    let verifier = Verifier::from_jwks(config.clone(), &key.jwks()).unwrap();
    verifier.verify(&key.sign(&access_payload())).await.unwrap();
    let stranger = TestKey::ed25519().sign(&access_payload());
    assert_eq!(
        verifier.verify(&stranger).await,
        Err(VerifyError::UnknownKey)
    );
    assert!(verifier.load_keys().await.is_ok());
    assert!(Verifier::from_jwks(config, "not json").is_err());
}

#[tokio::test]
async fn verifier_clones_share_one_cache() {
    let key = TestKey::ed25519();
    let (server, verifier) = served(&key).await;
    let clones: Vec<Verifier> = (0..4).map(|_| verifier.clone()).collect();
    let shared = Arc::new(clones);
    for verifier in shared.iter() {
        verifier.verify(&key.sign(&access_payload())).await.unwrap();
    }
    assert_eq!(server.requests(), 1);
}

/// jsonwebtoken's Ed25519 verifier slices the key's first 32 bytes: a shorter `x` in the key
/// set must be skipped when loaded, never reach it.
#[tokio::test]
async fn damaged_keys_in_the_set_are_skipped_not_a_panic() {
    let key = TestKey::ed25519();
    let mut short = key.jwk.clone();
    short["kid"] = json!("short");
    short["x"] = json!("AAAA");
    let mut long = key.jwk.clone();
    long["kid"] = json!("long");
    long["x"] = json!(URL_SAFE_NO_PAD.encode([7u8; 40]));
    let ec = TestKey::es256();
    let mut bad_point = ec.jwk.clone();
    bad_point["kid"] = json!("bad-point");
    bad_point["y"] = json!("AAAA");
    let jwks = json!({"keys": [key.jwk, short, long, ec.jwk, bad_point]}).to_string();
    let config = VerifierConfig::new("http://127.0.0.1:9", ISSUER, AUDIENCE);
    let verifier = Verifier::from_jwks(config, &jwks).unwrap();
    verifier.verify(&key.sign(&access_payload())).await.unwrap();
    verifier.verify(&ec.sign(&access_payload())).await.unwrap();
    for (kid, signer) in [("short", &key), ("long", &key), ("bad-point", &ec)] {
        let mut header = Header::new(signer.algorithm);
        header.kid = Some(kid.into());
        let token = jsonwebtoken::encode(&header, &access_payload(), &signer.encoding).unwrap();
        assert_eq!(
            verifier.verify(&token).await,
            Err(VerifyError::UnknownKey),
            "{kid}"
        );
    }
}

/// Whatever arrives in the `Authorization` header: an error, never a panic.
#[tokio::test]
async fn random_input_is_refused_without_a_panic() {
    use rand_core::{OsRng, RngCore};
    let key = TestKey::ed25519();
    let config = VerifierConfig::new("http://127.0.0.1:9", ISSUER, AUDIENCE);
    let verifier = Verifier::from_jwks(config, &key.jwks()).unwrap();
    let header = b64(&json!({"alg": "EdDSA", "typ": "JWT", "kid": key.kid}));
    let payload = b64(&access_payload());
    let random = |len: usize| {
        let mut bytes = vec![0u8; len];
        OsRng.fill_bytes(&mut bytes);
        bytes
    };
    for round in 0..500 {
        let len = (OsRng.next_u32() % 200) as usize;
        let noise = URL_SAFE_NO_PAD.encode(random(len));
        let raw = String::from_utf8_lossy(&random(len)).into_owned();
        let cases = [
            format!("{header}.{payload}.{noise}"),
            format!("{header}.{noise}.{noise}"),
            format!("{noise}.{payload}.{noise}"),
            format!("{header}.{payload}.{raw}"),
            raw.clone(),
            format!("{raw}.{raw}.{raw}"),
        ];
        for case in cases {
            let outcome = verifier.verify(&case).await;
            assert!(
                matches!(outcome, Err(VerifyError::Invalid | VerifyError::UnknownKey)),
                "round {round}: {outcome:?}"
            );
        }
    }
}

/// A first fetch abandoned with its request leaves no key set: the next token within the
/// interval cannot be checked (503), it is not "unknown" (401).
#[tokio::test]
async fn a_cancelled_first_fetch_is_unavailable_not_unknown() {
    let key = TestKey::ed25519();
    let (server, verifier) = served(&key).await;
    server.change(|s| s.delay = Duration::from_millis(500));
    let token = key.sign(&access_payload());
    let abandoned = tokio::time::timeout(Duration::from_millis(100), verifier.verify(&token));
    assert!(abandoned.await.is_err());
    assert!(matches!(
        verifier.verify(&token).await,
        Err(VerifyError::KeysUnavailable(_))
    ));
    assert!(server.requests() <= 1);
}
