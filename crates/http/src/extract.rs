//! Request extractors: the authenticated user, and the refresh token from header or body.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use gatehouse_application::{AppError, Principal};

use crate::dto::RefreshRequest;
use crate::{ApiError, AppState};

/// The caller, proven by a bearer access token. Every protected handler takes one.
pub struct Authenticated(pub Principal);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::unavailable("service is starting"))?;
            let token = token?;
            Ok(Authenticated(state.tokens.authenticate(&token).await?))
        })
    }
}

fn bearer_token(req: &HttpRequest) -> Result<String, AppError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(AppError::NotAuthenticated);
    };
    let value = value.to_str().map_err(|_| AppError::TokenInvalid)?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AppError::NotAuthenticated);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AppError::TokenInvalid);
    }
    Ok(token.to_owned())
}

/// Header carrying the refresh token, as an alternative to the JSON body.
pub const REFRESH_TOKEN_HEADER: &str = "X-Refresh-Token";

/// The refresh token from `X-Refresh-Token`, else from a JSON body `{"refresh_token": ...}`.
/// `Ok(None)` when neither is present; a body that is there must be proper JSON.
pub fn refresh_token(req: &HttpRequest, body: &[u8]) -> Result<Option<String>, ApiError> {
    if let Some(value) = req.headers().get(REFRESH_TOKEN_HEADER) {
        let token = value
            .to_str()
            .map_err(|_| ApiError::validation("refresh_token", "not a valid token"))?;
        return Ok(Some(token.trim().to_owned()));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !is_json {
        return Err(ApiError::unsupported_media_type());
    }
    let parsed: RefreshRequest =
        serde_json::from_slice(body).map_err(|e| ApiError::from_json(&e))?;
    Ok(parsed.refresh_token.filter(|t| !t.trim().is_empty()))
}
