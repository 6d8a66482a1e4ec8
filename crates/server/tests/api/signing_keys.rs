//! Signing keys as other services see them: the JWKS, tokens that a standard JOSE library
//! verifies against it, the tokens an attacker would try, and a rotation across two
//! instances that signs no one out.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, token};

const ISSUER: &str = "http://127.0.0.1:8000";

async fn jwks(app: &TestApp) -> (Value, String) {
    let response = app.get("/.well-known/jwks.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    let cache = response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.json().await.unwrap(), cache)
}

/// What a service with nothing but the JWKS does: find the key by `kid`, check the
/// signature, issuer, audience and expiry (jsonwebtoken here; PyJWT and jose read the same).
fn verify_with_jwks(jwks: &Value, access_token: &str) -> Value {
    let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let header = jsonwebtoken::decode_header(access_token).unwrap();
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("kid in the JWKS");
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&["gatehouse"]);
    jsonwebtoken::decode::<Value>(
        access_token,
        &DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap()
    .claims
}

async fn the_jwks_verifies_the_tokens_of_each_algorithm(algorithm: &str) {
    let app = TestApp::embedded_with(&[("GATEHOUSE_JWT_ALGORITHM", algorithm)]).await;
    let (keys, cache) = jwks(&app).await;
    assert_eq!(cache, "public, max-age=300");
    let published = keys["keys"].as_array().unwrap();
    assert_eq!(published.len(), 1, "{keys}");
    assert_eq!(published[0]["alg"], algorithm);
    assert_eq!(published[0]["use"], "sig");
    for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        assert!(published[0].get(private).is_none(), "{keys}");
    }
    let login = app
        .signed_up_user(&format!("jwks{}", algorithm.to_lowercase()))
        .await;
    let access = token(&login, "access_token");
    let header = jsonwebtoken::decode_header(&access).unwrap();
    assert_eq!(header.kid.as_deref(), published[0]["kid"].as_str());
    let claims = verify_with_jwks(&keys, &access);
    assert_eq!(claims["sub"], login["user"]["id"]);
    assert_eq!(claims["typ"], "access");
    assert_eq!(claims["role"], "user");
    assert_eq!(claims["permissions"], json!([]));
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], "gatehouse");
    assert!(claims["jti"].is_string() && claims["iat"].is_i64() && claims["exp"].is_i64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwks_verifies_eddsa_tokens() {
    the_jwks_verifies_the_tokens_of_each_algorithm("EdDSA").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwks_verifies_es256_tokens() {
    the_jwks_verifies_the_tokens_of_each_algorithm("ES256").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwks_verifies_rs256_tokens() {
    the_jwks_verifies_the_tokens_of_each_algorithm("RS256").await;
}

/// HS256 publishes no key, and says so uncached; its tokens carry a `kid` all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hs256_deployment_publishes_no_key_and_caches_nothing() {
    let app = TestApp::embedded_with(&[("GATEHOUSE_JWT_ALGORITHM", "HS256")]).await;
    let (keys, cache) = jwks(&app).await;
    assert_eq!(keys, json!({"keys": []}));
    assert_eq!(cache, "no-store");
    let login = app.signed_up_user("hs256").await;
    let header = jsonwebtoken::decode_header(token(&login, "access_token").as_str()).unwrap();
    assert_eq!(header.alg, Algorithm::HS256);
    assert!(header.kid.is_some());
    assert_eq!(
        app.me(&token(&login, "access_token")).await.status(),
        StatusCode::OK
    );
}

/// Unknown `kid`, `alg: none`, an HS256 token keyed with the published key (key confusion),
/// another algorithm under the real `kid`, a truncated signature, a token of a foreign key:
/// 401 `token_invalid`, never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tokens_are_refused_as_invalid() {
    let app = TestApp::embedded().await;
    let login = app.signed_up_user("forger").await;
    let access = token(&login, "access_token");
    let (keys, _) = jwks(&app).await;
    let kid = keys["keys"][0]["kid"].as_str().unwrap().to_owned();
    let x = URL_SAFE_NO_PAD
        .decode(keys["keys"][0]["x"].as_str().unwrap())
        .unwrap();
    let parts: Vec<&str> = access.split('.').collect();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let header = |json: Value| URL_SAFE_NO_PAD.encode(json.to_string());
    let with_header = |json: Value| format!("{}.{}.{}", header(json), parts[1], parts[2]);

    let mut confused = Header::new(Algorithm::HS256);
    confused.kid = Some(kid.clone());
    let confusion =
        jsonwebtoken::encode(&confused, &claims, &EncodingKey::from_secret(&x)).unwrap();
    let foreign_key = ed25519_foreign_token(&claims, &kid);
    let forged = [
        with_header(json!({"alg": "EdDSA", "typ": "JWT", "kid": "unknown"})),
        with_header(json!({"alg": "EdDSA", "typ": "JWT"})),
        format!(
            "{}.{}.",
            header(json!({"alg": "none", "typ": "JWT", "kid": kid})),
            parts[1]
        ),
        with_header(json!({"alg": "ES256", "typ": "JWT", "kid": kid})),
        with_header(json!({"alg": "RS256", "typ": "JWT", "kid": kid})),
        confusion,
        format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            &parts[2][..parts[2].len() - 4]
        ),
        format!("{}.{}", parts[0], parts[1]),
        foreign_key,
    ];
    for bad in &forged {
        assert_error(app.me(bad).await, StatusCode::UNAUTHORIZED, "token_invalid").await;
    }
    assert_eq!(app.me(&access).await.status(), StatusCode::OK);
}

/// A token with the real `kid` and claims, signed by another Ed25519 key.
fn ed25519_foreign_token(claims: &Value, kid: &str) -> String {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let other = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let der = other.to_pkcs8_der().unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap()
}

/// Moves a key's dates back by `by`, as if that much time had passed.
async fn age_keys(app: &TestApp, state: &str, column: &str, by: time::Duration) {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let db = Database::connect(&app.database_url).await.unwrap();
    let at = time::OffsetDateTime::now_utc() - by;
    let sql = format!("UPDATE signing_keys SET {column} = $1 WHERE state = '{state}'");
    let updated = db
        .execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [at.into()],
        ))
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 1, "one {state} key");
}

/// Polls (up to 20 s) until `check` holds.
async fn eventually<F: AsyncFn() -> bool>(what: &str, check: F) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn kid_of(access: &str) -> String {
    jsonwebtoken::decode_header(access).unwrap().kid.unwrap()
}

/// Two instances behind one load balancer, one operator's rotation: the next key reaches
/// the other instance's JWKS, starts signing everywhere once it has been published long
/// enough (time moved on by dating the key back), tokens of the old key keep working until
/// the old key leaves, and a refresh token from before the rotation still refreshes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    any(gatehouse_no_postgres, gatehouse_no_redis),
    ignore = "needs PostgreSQL and Redis"
)]
async fn a_rotation_across_two_instances_signs_no_one_out() {
    let Some((a, b)) = TestApp::shared_pair(&[("GATEHOUSE_JWKS_MAX_AGE", "2")]).await else {
        return;
    };
    let before = a.signed_up_user("rotating").await;
    let old_access = token(&before, "access_token");
    let old_kid = kid_of(&old_access);
    let keys_a = a.state.jwks.keys.clone().unwrap();
    let published = |app: &TestApp| {
        let keys = app.state.jwks.keys.clone().unwrap();
        move || keys.jwks().len()
    };

    keys_a.maintain(true).await.unwrap();
    let on_b = published(&b);
    eventually("B publishes the next key", async || on_b() == 2).await;
    let (jwks_b, _) = jwks(&b).await;
    assert_eq!(jwks_b["keys"].as_array().unwrap().len(), 2);
    // Published, not signing.
    let still = b
        .login("rotating@example.com", crate::helpers::PASSWORD)
        .await;
    let still: Value = still.json().await.unwrap();
    assert_eq!(kid_of(&token(&still, "access_token")), old_kid);

    age_keys(&a, "next", "created_at", time::Duration::hours(1)).await;
    for app in [&a, &b] {
        eventually("the next key signs", async || {
            let login: Value = app
                .login("rotating@example.com", crate::helpers::PASSWORD)
                .await
                .json()
                .await
                .unwrap();
            kid_of(&token(&login, "access_token")) != old_kid
        })
        .await;
    }
    for app in [&a, &b] {
        assert_eq!(app.me(&old_access).await.status(), StatusCode::OK);
    }
    let refreshed = b.refresh(&token(&before, "refresh_token")).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let refreshed: Value = refreshed.json().await.unwrap();
    assert_ne!(kid_of(&token(&refreshed, "access_token")), old_kid);

    // The old key's tokens have all expired: it leaves the JWKS, and its tokens stop.
    age_keys(&a, "retired", "retired_at", time::Duration::days(30)).await;
    for app in [&a, &b] {
        eventually("the retired key leaves", async || {
            app.me(&old_access).await.status() == StatusCode::UNAUTHORIZED
        })
        .await;
        let (keys, _) = jwks(app).await;
        assert_eq!(keys["keys"].as_array().unwrap().len(), 1, "{keys}");
        assert_eq!(
            app.me(&token(&refreshed, "access_token")).await.status(),
            StatusCode::OK
        );
    }
}

/// Keys sealed under one master key: an instance started with another stops at once,
/// naming the variable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_with_another_master_key_does_not_start() {
    let app = TestApp::embedded().await;
    let vars = [
        ("GATEHOUSE_DATABASE_URL", app.database_url.clone()),
        ("GATEHOUSE_ADDR", "127.0.0.1:0".to_owned()),
        (
            "GATEHOUSE_MASTER_KEY",
            "b3RoZXItbWFzdGVyLWtleS0wMTIzNDU2Nzg5YWJjZGU=".to_owned(),
        ),
    ];
    let config = gatehouse::Config::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    let refused = gatehouse::Application::build(&config, true)
        .await
        .err()
        .unwrap();
    let message = format!("{refused:#}");
    assert!(message.contains("GATEHOUSE_MASTER_KEY"), "{message}");
    assert!(message.contains("wrong master key"), "{message}");
}

/// The move from HS256 to key pairs during a rollout, signing no one out: an instance still
/// on HS256 prepares a key (published to the instances, not in its JWKS); an instance moved
/// to EdDSA signs with the secret until that key may sign, then with the key; each accepts
/// the other's tokens throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    any(gatehouse_no_postgres, gatehouse_no_redis),
    ignore = "needs PostgreSQL and Redis"
)]
async fn a_fleet_moving_from_hs256_to_eddsa_signs_no_one_out() {
    let max_age = ("GATEHOUSE_JWKS_MAX_AGE", "2");
    let secret = ("GATEHOUSE_JWT_SECRET", crate::helpers::JWT_SECRET);
    let Some((hs256, eddsa)) = TestApp::shared_pair_with(
        &[max_age, secret, ("GATEHOUSE_JWT_ALGORITHM", "HS256")],
        &[max_age, secret],
    )
    .await
    else {
        return;
    };
    let (keys, cache) = jwks(&hs256).await;
    assert_eq!((keys, cache.as_str()), (json!({"keys": []}), "no-store"));
    let accepted_everywhere = async |login: &Value| {
        let access = crate::helpers::token(login, "access_token");
        for app in [&hs256, &eddsa] {
            assert_eq!(app.me(&access).await.status(), StatusCode::OK, "{login}");
        }
    };
    let first = hs256.signed_up_user("moving").await;
    // The prepared key is not old enough: the moved instance signs with the secret.
    let interim = login_body(&eddsa, "moving").await;
    for login in [&first, &interim] {
        let access = crate::helpers::token(login, "access_token");
        assert_eq!(
            jsonwebtoken::decode_header(&access).unwrap().alg,
            Algorithm::HS256
        );
        accepted_everywhere(login).await;
    }

    age_keys(&hs256, "next", "created_at", time::Duration::hours(1)).await;
    // Right after the promotion, the instance still configured HS256 may sign once more with
    // the secret before it notices: the moved one accepts that token too.
    let straggler = login_body(&hs256, "moving").await;
    for app in [&eddsa, &hs256] {
        eventually("the key signs everywhere", async || {
            let body = login_body(app, "moving").await;
            jsonwebtoken::decode_header(crate::helpers::token(&body, "access_token"))
                .unwrap()
                .alg
                == Algorithm::EdDSA
        })
        .await;
    }
    accepted_everywhere(&straggler).await;
    let moved = login_body(&eddsa, "moving").await;
    for login in [&first, &interim, &straggler, &moved] {
        accepted_everywhere(login).await;
    }
    // Every refresh token, of either kind, refreshes on the other instance.
    for (login, app) in [
        (&first, &eddsa),
        (&interim, &hs256),
        (&straggler, &eddsa),
        (&moved, &hs256),
    ] {
        let refreshed = app
            .refresh(&crate::helpers::token(login, "refresh_token"))
            .await;
        assert_eq!(refreshed.status(), StatusCode::OK, "{login}");
        let refreshed: Value = refreshed.json().await.unwrap();
        accepted_everywhere(&refreshed).await;
    }
    // The instance configured HS256 never publishes: its JWKS stays empty.
    let (keys, _) = jwks(&hs256).await;
    assert_eq!(keys, json!({"keys": []}));
}

async fn login_body(app: &TestApp, name: &str) -> Value {
    let response = app
        .login(&format!("{name}@example.com"), crate::helpers::PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}
