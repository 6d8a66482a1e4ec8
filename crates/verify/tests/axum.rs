//! The axum extractor.
#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use axum::Router;
use axum::body::Body;
use axum::extract::FromRef;
use axum::http::{Request, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use common::{AUDIENCE, ISSUER, TestKey, access_payload, payload_with};
use gatehouse_verify::{Authenticated, Verifier, VerifierConfig};
use serde_json::{Value, json};
use tower::ServiceExt;

async fn me(Authenticated(claims): Authenticated) -> impl IntoResponse {
    json!({ "sub": claims.subject, "role": claims.role }).to_string()
}

/// An application's own state, from which the extractor takes the verifier.
#[derive(Clone)]
struct AppState {
    verifier: Verifier,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Verifier {
        state.verifier.clone()
    }
}

fn router(verifier: Verifier) -> Router {
    Router::new()
        .route("/me", get(me))
        .with_state(AppState { verifier })
}

fn verifier(key: &TestKey) -> Verifier {
    let config = VerifierConfig::new("http://127.0.0.1:9", ISSUER, AUDIENCE);
    Verifier::from_jwks(config, &key.jwks()).unwrap()
}

async fn call(app: Router, authorization: Option<&str>) -> (StatusCode, Option<String>, Value) {
    let mut request = Request::get("/me");
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    let response = app
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    if status != StatusCode::OK {
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, challenge, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn a_valid_token_reaches_the_handler() {
    let key = TestKey::ed25519();
    let payload = access_payload();
    let bearer = format!("Bearer {}", key.sign(&payload));
    let (status, _, body) = call(router(verifier(&key)), Some(&bearer)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"sub": payload["sub"], "role": "user"}));
}

#[tokio::test]
async fn the_verifier_itself_can_be_the_state() {
    let key = TestKey::ed25519();
    let app = Router::new()
        .route("/me", get(me))
        .with_state(verifier(&key));
    let bearer = format!("Bearer {}", key.sign(&access_payload()));
    assert_eq!(call(app, Some(&bearer)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn missing_bad_and_expired_tokens_are_401_with_gatehouse_error_body() {
    let key = TestKey::ed25519();
    let expired = key.sign(&payload_with(json!({"exp": 1_000_000})));
    let forged = TestKey::ed25519().sign(&access_payload());
    let cases = [
        (None, "not_authenticated"),
        (Some("Basic YTpi".to_owned()), "not_authenticated"),
        (Some("Bearer ".to_owned()), "token_invalid"),
        (Some("Bearer not.a.token".to_owned()), "token_invalid"),
        (Some(format!("Bearer {forged}")), "token_invalid"),
        (Some(format!("Bearer {expired}")), "token_expired"),
    ];
    for (authorization, code) in cases {
        let (status, challenge, body) =
            call(router(verifier(&key)), authorization.as_deref()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{code}");
        assert_eq!(challenge.as_deref(), Some("Bearer"));
        assert_eq!(body["code"], code);
        assert!(body["error"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(body["details"], json!({}));
    }
}

#[tokio::test]
async fn keys_unavailable_is_503() {
    let key = TestKey::ed25519();
    let config = VerifierConfig::new("http://127.0.0.1:9", ISSUER, AUDIENCE);
    let app = router(Verifier::new(config).unwrap());
    let bearer = format!("Bearer {}", key.sign(&access_payload()));
    let (status, challenge, body) = call(app, Some(&bearer)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(challenge, None);
    assert_eq!(body["code"], "service_unavailable");
}
