//! The public signing keys, for services that verify tokens themselves.

pub mod dto;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};
use utoipa::OpenApi;

use self::dto::Jwks;
use crate::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/.well-known/jwks.json").route(web::get().to(jwks)));
}

#[derive(OpenApi)]
#[openapi(paths(jwks), components(schemas(Jwks)))]
pub struct Api;

/// Every published signing key. Cacheable for `GATEHOUSE_JWKS_MAX_AGE` seconds: a key is
/// published that long (twice over) before it signs. An HS256 deployment publishes no key,
/// and says so uncached, so a verifier never holds on to an empty set.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth",
    responses((status = 200, description = "The published keys; `Cache-Control: public, max-age=N`", body = Jwks)))]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    let keys = state
        .jwks
        .keys
        .as_ref()
        .map(|keys| keys.jwks())
        .unwrap_or_default();
    // The JWKs are stored exactly as published: the document is assembled, not re-encoded.
    let body = format!(r#"{{"keys":[{}]}}"#, keys.join(","));
    let cache = if keys.is_empty() {
        "no-store".to_owned()
    } else {
        format!("public, max-age={}", state.jwks.max_age.as_secs())
    };
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json"))
        .insert_header((CACHE_CONTROL, cache))
        .body(body)
}
