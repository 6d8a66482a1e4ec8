//! The routes, with a verifier on a fixed key set (`end_to_end.rs` runs them against a
//! real Gatehouse).
#![allow(clippy::unwrap_used)] // a test fails by panicking

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use gatehouse_example_protected_api::router;
use gatehouse_verify::{Verifier, VerifierConfig};
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tower::ServiceExt;

/// An Ed25519 key pair (RFC 8037 appendix A) as PKCS#8 DER.
const PRIVATE_DER: [u8; 48] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
];

fn key() -> (EncodingKey, String) {
    let encoding = EncodingKey::from_ed_der(&PRIVATE_DER);
    let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::EdDSA).unwrap();
    jwk.common.key_id = Some("test-key".into());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    (encoding, json!({ "keys": [jwk] }).to_string())
}

fn signed(role: &str) -> (String, Verifier, String) {
    let (encoding, jwks) = key();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let sub = uuid::Uuid::new_v4().to_string();
    let payload = json!({
        "sub": sub, "jti": uuid::Uuid::new_v4(), "typ": "access",
        "iat": now, "iat_ms": now * 1000, "exp": now + 60,
        "iss": "gatehouse", "aud": "gatehouse-api", "role": role, "amr": ["pwd"],
    });
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("test-key".into());
    let token = jsonwebtoken::encode(&header, &payload, &encoding).unwrap();
    let config = VerifierConfig::new("http://127.0.0.1:9", "gatehouse", "gatehouse-api");
    (token, Verifier::from_jwks(config, &jwks).unwrap(), sub)
}

async fn get(verifier: Verifier, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = router(verifier)
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn hello_greets_the_token_subject() {
    let (token, verifier, sub) = signed("user");
    let (status, body) = get(verifier, "/hello", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"hello": sub, "role": "user"}));
}

#[tokio::test]
async fn admin_is_for_administrators_only() {
    let (token, verifier, _) = signed("user");
    let (status, body) = get(verifier, "/admin", Some(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "permission_denied");
    let (token, verifier, sub) = signed("admin");
    let (status, body) = get(verifier, "/admin", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["admin"], sub);
}

#[tokio::test]
async fn no_token_is_401() {
    let (_, verifier, _) = signed("user");
    for path in ["/hello", "/admin"] {
        let (status, body) = get(verifier.clone(), path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "not_authenticated");
    }
}
