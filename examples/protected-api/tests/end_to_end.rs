//! This service next to a real Gatehouse (PostgreSQL and Redis, as in production): a user
//! signs in at Gatehouse and calls this service with the access token. A tampered token, a
//! token signed by a foreign key, and the token after logout or a sign-out everywhere are
//! refused; a token of the next key, after a rotation, is accepted.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_example_protected_api::router;
use gatehouse_verify::{RedisRevocation, Verifier, VerifierConfig};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ISSUER: &str = "https://auth.example.test";
const PASSWORD: &str = "violet-tractor-42";

struct Running {
    gatehouse: String,
    api: String,
    http: reqwest::Client,
    gatehouse_state: gatehouse_http::AppState,
    database_url: String,
    _database: gatehouse_testing::TestDatabase,
}

async fn start() -> Option<Running> {
    let database = gatehouse_testing::postgres().await?;
    let redis = gatehouse_testing::redis().await?;
    let vars = [
        ("GATEHOUSE_ADDR", "127.0.0.1:0".to_owned()),
        ("GATEHOUSE_BCRYPT_COST", "4".to_owned()),
        ("GATEHOUSE_WORKERS", "1".to_owned()),
        ("GATEHOUSE_DATABASE_URL", database.url.clone()),
        ("GATEHOUSE_REDIS_URL", redis.url.clone()),
        ("GATEHOUSE_REDIS_PREFIX", redis.prefix.clone()),
        ("GATEHOUSE_JWT_ISSUER", ISSUER.to_owned()),
        ("GATEHOUSE_JWKS_MAX_AGE", "2".to_owned()),
        (
            "GATEHOUSE_MAIL_DIR",
            std::env::temp_dir()
                .join(format!("gatehouse-mail-{}", uuid::Uuid::new_v4()))
                .display()
                .to_string(),
        ),
    ];
    let config = gatehouse::Config::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    let app = gatehouse::Application::build(&config, true).await.unwrap();
    let gatehouse = format!("http://{}", app.addr());
    let gatehouse_state = app.state().clone();
    tokio::spawn(app.run_until_stopped());

    let mut verifier_config = VerifierConfig::new(&gatehouse, ISSUER, "gatehouse");
    verifier_config.min_refetch_interval = Duration::from_millis(500);
    let revocation = RedisRevocation::connect(&redis.url, redis.prefix.clone())
        .await
        .unwrap();
    let verifier = Verifier::new(verifier_config)
        .unwrap()
        .with_revocation(revocation);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(verifier)).await });
    Some(Running {
        gatehouse,
        api,
        http: reqwest::Client::new(),
        gatehouse_state,
        database_url: database.url.clone(),
        _database: database,
    })
}

impl Running {
    async fn sign_up(&self, name: &str) -> Value {
        let email = format!("{name}@example.com");
        let registered = self
            .http
            .post(format!("{}/api/v1/auth/register", self.gatehouse))
            .json(&json!({"email": email, "username": name, "password": PASSWORD, "password_confirm": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(registered.status(), StatusCode::CREATED);
        self.login(name).await
    }

    async fn login(&self, name: &str) -> Value {
        let response = self
            .http
            .post(format!("{}/api/v1/auth/login", self.gatehouse))
            .json(&json!({"email": format!("{name}@example.com"), "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn hello(&self, token: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}/hello", self.api))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    async fn gatehouse_post(&self, path: &str, access: &str, refresh: Option<&str>) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.gatehouse))
            .bearer_auth(access);
        if let Some(refresh) = refresh {
            request = request.header("X-Refresh-Token", refresh);
        }
        assert_eq!(
            request.send().await.unwrap().status(),
            StatusCode::NO_CONTENT
        );
    }
}

fn access(login: &Value) -> String {
    login["access_token"].as_str().unwrap().to_owned()
}

fn refused(answer: (StatusCode, Value)) {
    assert_eq!(answer.0, StatusCode::UNAUTHORIZED, "{}", answer.1);
    assert_eq!(answer.1["code"], "token_invalid", "{}", answer.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    any(gatehouse_no_postgres, gatehouse_no_redis),
    ignore = "needs PostgreSQL and Redis: start them on their default local ports or set GATEHOUSE_TEST_DATABASE_URL and GATEHOUSE_TEST_REDIS_URL"
)]
async fn the_protected_api_accepts_gatehouse_tokens_and_honours_logout() {
    let Some(running) = start().await else { return };
    let login = running.sign_up("alice").await;
    let token = access(&login);

    let (status, body) = running.hello(&token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["hello"], login["user"]["id"]);
    assert_eq!(body["role"], "user");
    let admin = running
        .http
        .get(format!("{}/admin", running.api))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), StatusCode::FORBIDDEN);

    // Tampered: one claim changed, the signature kept.
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["role"] = "admin".into();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    refused(running.hello(&tampered).await);
    // Signed by a key Gatehouse never published, under Gatehouse's own kid.
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    refused(running.hello(&foreign_token(&claims, &kid)).await);
    refused(running.hello(&foreign_token(&claims, "made-up-kid")).await);

    // Logout denies this access token: refused here at once, not when it expires.
    let refresh = login["refresh_token"].as_str().unwrap();
    running
        .gatehouse_post("/api/v1/auth/logout", &token, Some(refresh))
        .await;
    refused(running.hello(&token).await);

    // Sign-out everywhere: every token of the account issued before it.
    let second = access(&running.login("alice").await);
    let third = access(&running.login("alice").await);
    assert_eq!(running.hello(&second).await.0, StatusCode::OK);
    running
        .gatehouse_post("/api/v1/auth/logout-all", &third, None)
        .await;
    refused(running.hello(&second).await);
    refused(running.hello(&third).await);
    let after = access(&running.login("alice").await);
    assert_eq!(running.hello(&after).await.0, StatusCode::OK);
}

/// A demotion in Gatehouse: the admin's token, which still says `admin`, is refused here at
/// once (its grant is stale); after signing in again, the new token says `user`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    any(gatehouse_no_postgres, gatehouse_no_redis),
    ignore = "needs PostgreSQL and Redis: start them on their default local ports or set GATEHOUSE_TEST_DATABASE_URL and GATEHOUSE_TEST_REDIS_URL"
)]
async fn a_demoted_admins_token_no_longer_opens_the_admin_route() {
    let Some(running) = start().await else { return };
    for name in ["boss", "carol"] {
        running
            .gatehouse_state
            .users
            .create_superuser(gatehouse_application::NewUserInput {
                email: format!("{name}@example.com"),
                username: name.into(),
                password: PASSWORD.to_owned().into(),
                password_confirm: PASSWORD.to_owned().into(),
                first_name: None,
                last_name: None,
            })
            .await
            .unwrap();
    }
    let boss = access(&running.login("boss").await);
    let carol = running.login("carol").await;
    let admin_route = |token: String| {
        let http = running.http.clone();
        let url = format!("{}/admin", running.api);
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(admin_route(access(&carol)).await, StatusCode::OK);

    let demoted = running
        .http
        .patch(format!(
            "{}/api/v1/users/{}",
            running.gatehouse,
            carol["user"]["id"].as_str().unwrap()
        ))
        .bearer_auth(&boss)
        .json(&json!({"role": "user"}))
        .send()
        .await
        .unwrap();
    assert_eq!(demoted.status(), StatusCode::OK);
    refused(running.hello(&access(&carol)).await);
    assert_eq!(admin_route(access(&carol)).await, StatusCode::UNAUTHORIZED);
    // The client refreshes (or signs in again): the new token carries the new role.
    let refreshed = running
        .http
        .post(format!("{}/api/v1/auth/refresh", running.gatehouse))
        .header("X-Refresh-Token", carol["refresh_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::OK);
    let refreshed: Value = refreshed.json().await.unwrap();
    let (status, body) = running.hello(&access(&refreshed)).await;
    assert_eq!(
        (status, body["role"].as_str()),
        (StatusCode::OK, Some("user"))
    );
    assert_eq!(admin_route(access(&refreshed)).await, StatusCode::FORBIDDEN);
    assert_eq!(admin_route(boss).await, StatusCode::OK);
}

/// A rotation in Gatehouse: the next key's tokens verify here (the unknown `kid` makes the
/// verifier fetch the key set again), and the old key's tokens keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    any(gatehouse_no_postgres, gatehouse_no_redis),
    ignore = "needs PostgreSQL and Redis: start them on their default local ports or set GATEHOUSE_TEST_DATABASE_URL and GATEHOUSE_TEST_REDIS_URL"
)]
async fn tokens_of_the_next_key_verify_after_a_rotation() {
    let Some(running) = start().await else { return };
    let before = access(&running.sign_up("bob").await);
    assert_eq!(running.hello(&before).await.0, StatusCode::OK);
    let old_kid = jsonwebtoken::decode_header(&before).unwrap().kid.unwrap();

    let keys = running.gatehouse_state.jwks.keys.clone().unwrap();
    keys.maintain(true).await.unwrap();
    // Time passes: the next key has been published long enough to sign.
    use sea_orm::{ConnectionTrait, Database, Statement};
    let db = Database::connect(&running.database_url).await.unwrap();
    let long_ago = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE signing_keys SET created_at = $1 WHERE state = 'next'",
        [long_ago.into()],
    ))
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let after = loop {
        let token = access(&running.login("bob").await);
        if jsonwebtoken::decode_header(&token).unwrap().kid.unwrap() != old_kid {
            break token;
        }
        assert!(Instant::now() < deadline, "the next key never signed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (status, body) = running.hello(&after).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(running.hello(&before).await.0, StatusCode::OK);
}

/// A token with Gatehouse's claims and `kid`, signed by another Ed25519 key.
fn foreign_token(claims: &Value, kid: &str) -> String {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let other = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let der = other.to_pkcs8_der().unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap()
}
