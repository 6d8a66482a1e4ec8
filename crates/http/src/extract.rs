//! Request extractors: the authenticated user (bearer token or session cookie + CSRF), the
//! refresh token from header or body, and path ids.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::{Method, header};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use gatehouse_application::{AppError, Principal};

use crate::client::client_info;
use crate::routes::auth::dto::RefreshRequest;
use crate::session_cookies::{CSRF_HEADER, session_id};
use crate::{ApiError, AppState, WebSettings};

/// The caller, proven by a bearer access token or by a session cookie. Every protected
/// handler takes one. With a cookie, unsafe methods also need the session's CSRF token in
/// `X-CSRF-Token` and an `Origin` (when sent) that is this site or a trusted one.
pub struct Authenticated(pub Principal);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| ApiError::unavailable("service is starting"))?;
            let client = client_info(&req, &state.web);
            if let Some(token) = bearer_token(&req)? {
                let mut principal = state.tokens.authenticate(&token).await?;
                principal.client = client;
                return Ok(Authenticated(principal));
            }
            let session_id = session_id(&req, &state.web).ok_or(AppError::NotAuthenticated)?;
            let session = state.sessions.authenticate(&session_id).await?;
            if is_unsafe(req.method()) {
                let presented = req
                    .headers()
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !session.csrf_matches(presented) || !origin_allowed(&req, &state.web) {
                    return Err(ApiError::csrf_failed());
                }
            }
            let mut principal = session.principal;
            principal.client = client;
            Ok(Authenticated(principal))
        })
    }
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// A cross-site request carries its page's `Origin`; it must be this host or a trusted origin.
/// No `Origin` at all (same-origin navigations in some browsers, non-browser clients) passes:
/// the CSRF token still has to match.
pub(crate) fn origin_allowed(req: &HttpRequest, web: &WebSettings) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if web
        .trusted_origins
        .iter()
        .any(|trusted| trusted.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let origin_host = origin.split_once("://").map(|(_, host)| host);
    let own_host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    matches!((origin_host, own_host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// `Ok(None)` without an `Authorization` header; an error for one that is not a usable
/// bearer token.
pub(crate) fn bearer_token(req: &HttpRequest) -> Result<Option<String>, AppError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
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
    Ok(Some(token.to_owned()))
}

/// A JSON request body that must be an object. `web::Json` would also read a struct from
/// an array of its field values (`[null, null]`), which the documented bodies are not. The
/// body is read as it was sent (a raw value), so a repeated field is refused as serde
/// refuses it, not silently resolved to its last copy.
pub struct JsonObject<T>(pub T);

impl<T> JsonObject<T> {
    /// The body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for JsonObject<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for JsonObject<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // The limit, content type and syntax checks (and their errors) stay `web::Json`'s.
        let raw = web::Json::<Box<serde_json::value::RawValue>>::from_request(req, payload);
        Box::pin(async move {
            let raw = raw.await?.into_inner();
            if !raw.get().starts_with('{') {
                return Err(ApiError::validation("body", "must be a JSON object").into());
            }
            // Skipping the fields `T` does not read checks less than parsing them: a number
            // out of range, a lone surrogate or nesting past the depth limit in such a field
            // is still `invalid_json`, as the whole body is parsed once as a value.
            serde_json::from_str::<serde_json::Value>(raw.get())
                .map_err(|e| ApiError::from_json(&e))?;
            serde_json::from_str(raw.get())
                .map(JsonObject)
                .map_err(|e| ApiError::from_json(&e).into())
        })
    }
}

/// Reads a path id; anything but a UUID is a 400, before any lookup.
pub(crate) fn path_uuid(raw: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(raw).map_err(|_| ApiError::validation("id", "must be a UUID"))
}

/// Header carrying the refresh token, as an alternative to the JSON body.
pub const REFRESH_TOKEN_HEADER: &str = "X-Refresh-Token";

/// The refresh token from `X-Refresh-Token`, else from a JSON body `{"refresh_token": ...}`.
/// `Ok(None)` when neither is present. With the header, a body that is not JSON is ignored;
/// a JSON body, with or without the header, must be an object (or `null`).
pub fn refresh_token(req: &HttpRequest, body: &[u8]) -> Result<Option<String>, ApiError> {
    let Some(token) = refresh_token_header(req)? else {
        return refresh_token_body(req, body);
    };
    if is_json(req) {
        refresh_token_body(req, body)?;
    }
    Ok(Some(token))
}

/// `X-Refresh-Token`, trimmed; a blank one counts as absent.
fn refresh_token_header(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(REFRESH_TOKEN_HEADER) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .map_err(|_| ApiError::validation("refresh_token", "not a valid token"))?
        .trim();
    Ok((!token.is_empty()).then(|| token.to_owned()))
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        })
}

/// The refresh token of a body `{"refresh_token": ...}`; `Ok(None)` without a body or with
/// `null` (the document's optional body allows it).
fn refresh_token_body(req: &HttpRequest, body: &[u8]) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if !is_json(req) {
        return Err(ApiError::unsupported_media_type());
    }
    let raw: Box<serde_json::value::RawValue> =
        serde_json::from_slice(body).map_err(|e| ApiError::from_json(&e))?;
    if raw.get() == "null" {
        return Ok(None);
    }
    if !raw.get().starts_with('{') {
        return Err(ApiError::validation("body", "must be a JSON object"));
    }
    let parsed: RefreshRequest =
        serde_json::from_str(raw.get()).map_err(|e| ApiError::from_json(&e))?;
    Ok(parsed.refresh_token.filter(|t| !t.trim().is_empty()))
}
