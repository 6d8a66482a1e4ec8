//! The actix-web extractor.
#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use actix_web::http::{StatusCode, header};
use actix_web::{App, HttpResponse, test, web};
use common::{AUDIENCE, ISSUER, TestKey, access_payload, payload_with};
use gatehouse_verify::{Authenticated, Verifier, VerifierConfig};
use serde_json::{Value, json};

async fn me(Authenticated(claims): Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "sub": claims.subject, "role": claims.role }))
}

fn verifier(key: &TestKey) -> Verifier {
    let config = VerifierConfig::new("http://127.0.0.1:9", ISSUER, AUDIENCE);
    Verifier::from_jwks(config, &key.jwks()).unwrap()
}

async fn call(
    data: Option<Verifier>,
    authorization: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut app = App::new().route("/me", web::get().to(me));
    if let Some(verifier) = data {
        app = app.app_data(web::Data::new(verifier));
    }
    let app = test::init_service(app).await;
    let mut request = test::TestRequest::get().uri("/me");
    if let Some(value) = authorization {
        request = request.insert_header((header::AUTHORIZATION, value));
    }
    let response = test::call_service(&app, request.to_request()).await;
    let status = response.status();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = serde_json::from_slice(&test::read_body(response).await).unwrap();
    (status, challenge, body)
}

#[actix_web::test]
async fn a_valid_token_reaches_the_handler() {
    let key = TestKey::ed25519();
    let payload = access_payload();
    let bearer = format!("Bearer {}", key.sign(&payload));
    let (status, _, body) = call(Some(verifier(&key)), Some(&bearer)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"sub": payload["sub"], "role": "user"}));
}

#[actix_web::test]
async fn a_plain_verifier_app_data_works_too() {
    let key = TestKey::ed25519();
    let app = test::init_service(
        App::new()
            .app_data(verifier(&key))
            .route("/me", web::get().to(me)),
    )
    .await;
    let request = test::TestRequest::get()
        .uri("/me")
        .insert_header((
            header::AUTHORIZATION,
            format!("Bearer {}", key.sign(&access_payload())),
        ))
        .to_request();
    assert_eq!(
        test::call_service(&app, request).await.status(),
        StatusCode::OK
    );
}

#[actix_web::test]
async fn missing_bad_and_expired_tokens_are_401_with_gatehouse_error_body() {
    let key = TestKey::ed25519();
    let expired = key.sign(&payload_with(json!({"exp": 1_000_000})));
    let cases = [
        (None, "not_authenticated"),
        (Some("Basic YTpi".to_owned()), "not_authenticated"),
        (Some("Bearer ".to_owned()), "token_invalid"),
        (Some("Bearer not.a.token".to_owned()), "token_invalid"),
        (Some(format!("Bearer {expired}")), "token_expired"),
    ];
    for (authorization, code) in cases {
        let (status, challenge, body) = call(Some(verifier(&key)), authorization.as_deref()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{code}");
        assert_eq!(challenge.as_deref(), Some("Bearer"));
        assert_eq!(body["code"], code);
        assert!(body["error"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(body["details"], json!({}));
    }
}

#[actix_web::test]
async fn keys_unavailable_is_503() {
    let key = TestKey::ed25519();
    let config = VerifierConfig::new("http://127.0.0.1:9", ISSUER, AUDIENCE);
    let unreachable = Verifier::new(config).unwrap();
    let bearer = format!("Bearer {}", key.sign(&access_payload()));
    let (status, challenge, body) = call(Some(unreachable), Some(&bearer)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(challenge, None);
    assert_eq!(body["code"], "service_unavailable");
}

#[actix_web::test]
async fn an_app_without_the_verifier_answers_500() {
    let key = TestKey::ed25519();
    let bearer = format!("Bearer {}", key.sign(&access_payload()));
    let (status, _, body) = call(None, Some(&bearer)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["code"], "internal_error");
}
