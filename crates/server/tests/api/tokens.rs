use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{JWT_SECRET, TestApp, assert_error, token};

fn parts(jwt: &str) -> (String, Value, String) {
    let mut it = jwt.split('.');
    let (header, payload, signature) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
    let payload = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    (header.to_owned(), payload, signature.to_owned())
}

fn encode(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

async fn forged_and_unsigned_tokens_are_refused(app: TestApp) {
    let victim = app.signed_up_user("victim").await;
    let attacker = app.signed_up_user("attacker").await;
    let (header, mut payload, signature) = parts(&token(&attacker, "access_token"));
    // Claim to be the victim, keeping the attacker's signature.
    payload["sub"] = victim["user"]["id"].clone();
    let tampered = format!("{header}.{}.{signature}", encode(&payload));
    assert_error(
        app.me(&tampered).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
    // alg: none, no signature.
    let none = format!(
        "{}.{}.",
        encode(&json!({"alg": "none", "typ": "JWT"})),
        encode(&payload)
    );
    assert_error(
        app.me(&none).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
    // Another HMAC algorithm announced over the same signature.
    let hs512 = format!(
        "{}.{}.{signature}",
        encode(&json!({"alg": "HS512", "typ": "JWT"})),
        encode(&payload)
    );
    assert_error(
        app.me(&hs512).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
    for garbage in ["garbage", "a.b.c", ""] {
        let response = app
            .client
            .get(app.url("/api/v1/users/me"))
            .header("Authorization", format!("Bearer {garbage}"))
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::UNAUTHORIZED, "token_invalid").await;
    }
}

async fn tokens_are_never_accepted_in_each_others_place(app: TestApp) {
    let login = app.signed_up_user("kinds").await;
    assert_error(
        app.me(&token(&login, "refresh_token")).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
    assert_error(
        app.refresh(&token(&login, "access_token")).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
}

async fn missing_or_foreign_credentials_are_not_authenticated(app: TestApp) {
    let none = app.get("/api/v1/users/me").await;
    let body = assert_error(none, StatusCode::UNAUTHORIZED, "not_authenticated").await;
    assert!(body["error"].as_str().unwrap().contains("not provided"));
    let basic = app
        .client
        .get(app.url("/api/v1/users/me"))
        .basic_auth("a", Some("b"))
        .send()
        .await
        .unwrap();
    assert_error(basic, StatusCode::UNAUTHORIZED, "not_authenticated").await;
    let logout = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_error(logout, StatusCode::UNAUTHORIZED, "not_authenticated").await;
}

async fn refresh_accepts_the_body_and_requires_a_token(app: TestApp) {
    let login = app.signed_up_user("bodyrefresh").await;
    let response = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": token(&login, "refresh_token")}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let missing = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .send()
        .await
        .unwrap();
    let body = assert_error(missing, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(body["details"]["refresh_token"].is_array());
    let empty = app.post_json("/api/v1/auth/refresh", &json!({})).await;
    assert_error(empty, StatusCode::BAD_REQUEST, "validation_error").await;
}

crate::on_every_backend!(
    forged_and_unsigned_tokens_are_refused,
    tokens_are_never_accepted_in_each_others_place,
    missing_or_foreign_credentials_are_not_authenticated,
    refresh_accepts_the_body_and_requires_a_token,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_is_token_expired() {
    let app = TestApp::embedded_with(&[("GATEHOUSE_ACCESS_TOKEN_TTL", "1")]).await;
    let login = app.signed_up_user("shortlived").await;
    assert_eq!(login["expires_in"], 1);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_error(
        app.me(&token(&login, "access_token")).await,
        StatusCode::UNAUTHORIZED,
        "token_expired",
    )
    .await;
    // The refresh token outlives it.
    assert_eq!(
        app.refresh(&token(&login, "refresh_token")).await.status(),
        StatusCode::OK
    );
}

/// A token signed with a key the app lists as verify-only (a rotation in progress) works;
/// the same token at an app that does not list the key is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_signed_with_a_verify_only_key_are_accepted_during_a_rotation() {
    const OLD_KEY: &str = "the-previous-signing-key-0123456789abcdef";
    let hs256 = ("GATEHOUSE_JWT_ALGORITHM", "HS256");
    let rotating =
        TestApp::embedded_with(&[hs256, ("GATEHOUSE_JWT_VERIFY_ONLY_SECRETS", OLD_KEY)]).await;
    let login = rotating.signed_up_user("rotation").await;
    let now = time::OffsetDateTime::now_utc();
    let signed_with_old_key =
        legacy_token(&rotating, &login, OLD_KEY, "http://127.0.0.1:8000", now, 5).await;
    let accepted = rotating.me(&signed_with_old_key).await;
    assert_eq!(accepted.status(), StatusCode::OK);

    let unaware = TestApp::embedded_with(&[hs256]).await;
    assert_error(
        unaware.me(&signed_with_old_key).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
}

/// After the move from HS256 to EdDSA, the tokens the old secret signed before the first key
/// pair did (with the issuer of that release) stay valid until they expire: an upgrade signs
/// no one out. What the old secret could mint is bounded: an access token living longer than
/// access tokens do is refused (the JWT codec's tests refuse one issued after the move too).
/// New tokens are EdDSA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hs256_tokens_from_before_the_move_to_key_pairs_stay_valid() {
    // The first key pair signs (no secret was configured when it was made)...
    let first = TestApp::embedded().await;
    let login = first.signed_up_user("upgraded").await;
    // ...and an instance with the old secret, on the same database, verifies HS256 tokens
    // from before it.
    let app = first
        .another_instance(&[("GATEHOUSE_JWT_SECRET", JWT_SECRET)])
        .await;
    let header = jsonwebtoken::decode_header(token(&login, "access_token").as_str()).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    let before_the_move = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let legacy = legacy_token(&app, &login, JWT_SECRET, "gatehouse", before_the_move, 5).await;
    assert_eq!(app.me(&legacy).await.status(), StatusCode::OK);
    for forged in [
        legacy_token(
            &app,
            &login,
            JWT_SECRET,
            "gatehouse",
            before_the_move,
            24 * 60,
        )
        .await,
        legacy_token(
            &app,
            &login,
            "a-secret-nobody-configured-0123456789",
            "gatehouse",
            before_the_move,
            5,
        )
        .await,
    ] {
        assert_error(
            app.me(&forged).await,
            StatusCode::UNAUTHORIZED,
            "token_invalid",
        )
        .await;
    }
}

/// An access token for the user of `login`, signed as a release before key pairs did:
/// HS256 with `secret`, issuer `issuer`, no role or `amr`.
async fn legacy_token(
    app: &TestApp,
    login: &Value,
    secret: &str,
    issuer: &str,
    issued_at: time::OffsetDateTime,
    minutes_left: i64,
) -> String {
    use gatehouse_application::ports::{TokenClaims, TokenCodec, TokenKind};
    use gatehouse_infrastructure::jwt::{JwtCodec, JwtSettings};

    let me: Value = app
        .me(&token(login, "access_token"))
        .await
        .json()
        .await
        .unwrap();
    let user = uuid::Uuid::parse_str(me["id"].as_str().unwrap()).unwrap();
    JwtCodec::new(&JwtSettings::hs256(
        secret.to_owned().into(),
        issuer,
        "gatehouse",
    ))
    .encode(&TokenClaims {
        subject: gatehouse_domain::UserId::from_uuid(user),
        token_id: uuid::Uuid::new_v4(),
        kind: TokenKind::Access,
        family: None,
        device: None,
        issued_at,
        authenticated_at: issued_at,
        expires_at: time::OffsetDateTime::now_utc() + time::Duration::minutes(minutes_left),
        stamp: gatehouse_domain::SecurityStamp::INITIAL,
        methods: Vec::new(),
        grant: None,
    })
    .unwrap()
}
