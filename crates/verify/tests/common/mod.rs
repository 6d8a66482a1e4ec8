//! Keys, tokens and a JWKS server for the tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gatehouse_verify::VerifierConfig;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand_core::{OsRng, RngCore};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

pub const ISSUER: &str = "gatehouse-test";
pub const AUDIENCE: &str = "test-api";

/// A signing key as Gatehouse makes them: its public JWK carries `kid` (the RFC 7638
/// thumbprint), `alg` and `use: sig`.
pub struct TestKey {
    pub kid: String,
    pub algorithm: Algorithm,
    pub encoding: EncodingKey,
    pub jwk: Value,
}

impl TestKey {
    fn from_der(algorithm: Algorithm, encoding: EncodingKey) -> Self {
        let mut jwk = Jwk::from_encoding_key(&encoding, algorithm).unwrap();
        let kid = jwk.thumbprint(ThumbprintHash::SHA256).unwrap();
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        Self {
            kid,
            algorithm,
            encoding,
            jwk: serde_json::to_value(&jwk).unwrap(),
        }
    }

    pub fn ed25519() -> Self {
        use ed25519_dalek::pkcs8::{EncodePrivateKey, KeypairBytes};
        let mut secret_key = [0u8; 32];
        OsRng.fill_bytes(&mut secret_key);
        let der = KeypairBytes {
            secret_key,
            public_key: None,
        }
        .to_pkcs8_der()
        .unwrap();
        Self::from_der(Algorithm::EdDSA, EncodingKey::from_ed_der(der.as_bytes()))
    }

    pub fn es256() -> Self {
        use p256::pkcs8::EncodePrivateKey;
        let der = p256::ecdsa::SigningKey::random(&mut OsRng)
            .to_pkcs8_der()
            .unwrap();
        Self::from_der(Algorithm::ES256, EncodingKey::from_ec_der(der.as_bytes()))
    }

    /// A token with this key's `alg` and `kid` over `payload`.
    pub fn sign(&self, payload: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, payload, &self.encoding).unwrap()
    }

    pub fn jwks(&self) -> String {
        json!({ "keys": [self.jwk] }).to_string()
    }
}

/// An access token's payload as Gatehouse writes it, valid for five minutes.
pub fn access_payload() -> Value {
    let now = OffsetDateTime::now_utc();
    let iat_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap();
    json!({
        "sub": Uuid::new_v4(), "jti": Uuid::new_v4(), "typ": "access",
        "iat": now.unix_timestamp(), "iat_ms": iat_ms, "exp": now.unix_timestamp() + 300,
        "iss": ISSUER, "aud": AUDIENCE, "dev": Uuid::new_v4(), "stm": 7,
        "role": "user", "permissions": ["can_view_users"], "amr": ["pwd"],
    })
}

/// `access_payload` with some claims replaced (`null` removes one).
pub fn payload_with(changes: Value) -> Value {
    let mut payload = access_payload();
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            payload.as_object_mut().unwrap().remove(key);
        } else {
            payload[key] = value.clone();
        }
    }
    payload
}

/// What the JWKS server answers; changed by the tests as they go.
#[derive(Clone)]
pub struct Served {
    pub keys: Vec<Value>,
    pub cache_control: Option<String>,
    /// Answer 500 instead of the key set.
    pub failing: bool,
    /// Wait this long before answering.
    pub delay: Duration,
    /// An `Age` header, as a shared cache on the way adds.
    pub age: Option<u64>,
}

struct ServerState {
    served: Mutex<Served>,
    requests: AtomicUsize,
}

/// Gatehouse's `/.well-known/jwks.json` on 127.0.0.1, counting the requests it answers.
pub struct JwksServer {
    state: Arc<ServerState>,
    pub addr: SocketAddr,
}

impl JwksServer {
    pub async fn start(keys: Vec<Value>, cache_control: Option<&str>) -> Self {
        let state = Arc::new(ServerState {
            served: Mutex::new(Served {
                keys,
                cache_control: cache_control.map(str::to_owned),
                failing: false,
                delay: Duration::ZERO,
                age: None,
            }),
            requests: AtomicUsize::new(0),
        });
        let app = axum::Router::new()
            .route("/.well-known/jwks.json", get(jwks))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { state, addr }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    pub fn change(&self, f: impl FnOnce(&mut Served)) {
        f(&mut self.state.served.lock().unwrap());
    }

    /// A configuration for this server with a refetch interval of `interval`.
    pub fn config(&self, interval: Duration) -> VerifierConfig {
        let mut config = VerifierConfig::new(self.base_url(), ISSUER, AUDIENCE);
        config.min_refetch_interval = interval;
        config.http_timeout = Duration::from_secs(2);
        config
    }
}

async fn jwks(State(state): State<Arc<ServerState>>) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let served = state.served.lock().unwrap().clone();
    tokio::time::sleep(served.delay).await;
    if served.failing {
        return (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response();
    }
    let body = json!({ "keys": served.keys }).to_string();
    let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Some(value) = served.cache_control {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, value.parse().unwrap());
    }
    if let Some(age) = served.age {
        response.headers_mut().insert(header::AGE, age.into());
    }
    response
}
