//! An API of another service, protected by Gatehouse access tokens: every route takes
//! [`Authenticated`], which verifies the bearer token offline against Gatehouse's keys (and,
//! when configured, its revocations in Redis).

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gatehouse_verify::{Authenticated, RedisRevocation, Verifier, VerifierConfig};
use serde_json::json;

/// The API: `GET /hello` for any signed-in user, `GET /admin` for administrators only.
pub fn router(verifier: Verifier) -> Router {
    Router::new()
        .route("/hello", get(hello))
        .route("/admin", get(admin))
        .with_state(verifier)
}

/// Greets the caller by user id, with the role their token carries.
async fn hello(Authenticated(claims): Authenticated) -> Json<serde_json::Value> {
    Json(json!({ "hello": claims.subject, "role": claims.role }))
}

/// For administrators; anyone else is refused with Gatehouse's `permission_denied` body.
async fn admin(Authenticated(claims): Authenticated) -> Response {
    if !claims.is_admin() {
        let body = json!({
            "error": "you do not have permission to perform this action",
            "code": "permission_denied",
            "details": {},
        });
        return (StatusCode::FORBIDDEN, Json(body)).into_response();
    }
    Json(json!({ "admin": claims.subject })).into_response()
}

/// What the service is configured with, from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `GATEHOUSE_URL`: Gatehouse's base URL; its keys are at `/.well-known/jwks.json`.
    pub gatehouse_url: String,
    /// `GATEHOUSE_JWT_ISSUER`: the `iss` Gatehouse writes (default: `GATEHOUSE_URL`, as
    /// Gatehouse's own default is its public URL).
    pub issuer: String,
    /// `GATEHOUSE_JWT_AUDIENCE`: the `aud` Gatehouse writes (default `gatehouse`).
    pub audience: String,
    /// `REDIS_URL`: Gatehouse's Redis; when set, revoked tokens are refused at once rather
    /// than when they expire.
    pub redis_url: Option<String>,
    /// `REDIS_PREFIX`: Gatehouse's key prefix (default `gatehouse:`).
    pub redis_prefix: String,
    /// `BIND`: where to listen (default `127.0.0.1:8081`).
    pub bind: String,
}

impl Settings {
    /// Reads the settings; `GATEHOUSE_URL` is required.
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let gatehouse_url =
            var("GATEHOUSE_URL").ok_or_else(|| anyhow::anyhow!("GATEHOUSE_URL is required"))?;
        Ok(Self {
            issuer: var("GATEHOUSE_JWT_ISSUER")
                .unwrap_or_else(|| gatehouse_url.trim_end_matches('/').to_owned()),
            gatehouse_url,
            audience: var("GATEHOUSE_JWT_AUDIENCE").unwrap_or_else(|| "gatehouse".into()),
            redis_url: var("REDIS_URL"),
            redis_prefix: var("REDIS_PREFIX")
                .unwrap_or_else(|| RedisRevocation::DEFAULT_PREFIX.into()),
            bind: var("BIND").unwrap_or_else(|| "127.0.0.1:8081".into()),
        })
    }

    /// The verifier these settings describe, connected to Redis when one is configured.
    pub async fn verifier(&self) -> anyhow::Result<Verifier> {
        let config = VerifierConfig::new(&self.gatehouse_url, &self.issuer, &self.audience);
        let verifier = Verifier::new(config)?;
        Ok(match &self.redis_url {
            Some(url) => {
                let revocation = RedisRevocation::connect(url, self.redis_prefix.clone()).await?;
                verifier.with_revocation(revocation)
            }
            None => verifier,
        })
    }
}
