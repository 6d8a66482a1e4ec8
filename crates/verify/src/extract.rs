//! `Authenticated`, the extractor for actix-web and axum, and the error it answers with.

use serde_json::json;

use crate::claims::Claims;
use crate::error::VerifyError;
use crate::verifier::Verifier;

/// The caller, proven by a valid Gatehouse access token in `Authorization: Bearer`. A
/// handler that takes one runs only for authenticated requests; the others get a 401 (503
/// when the token could not be checked) with Gatehouse's error body.
///
/// The extractor needs the [`Verifier`]: in actix-web as `web::Data<Verifier>` (or a plain
/// `Verifier` app data); in axum as state from which a `Verifier` can be had (`FromRef`).
#[derive(Debug, Clone)]
pub struct Authenticated(pub Claims);

impl std::ops::Deref for Authenticated {
    type Target = Claims;

    fn deref(&self) -> &Claims {
        &self.0
    }
}

/// Why a request was not authenticated, as the response Gatehouse itself would give:
/// `{"error": "...", "code": "...", "details": {}}`, with `WWW-Authenticate: Bearer` on a
/// 401. Implements actix-web's `ResponseError` and axum's `IntoResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    status: u16,
    code: &'static str,
    message: &'static str,
    /// The verification outcome, when a token was presented and checked.
    cause: Option<VerifyError>,
}

impl Rejection {
    /// No `Authorization: Bearer` header at all.
    fn not_authenticated() -> Self {
        Self {
            status: 401,
            code: "not_authenticated",
            message: "authentication credentials were not provided",
            cause: None,
        }
    }

    /// An `Authorization` header that holds no usable bearer token.
    fn malformed() -> Self {
        Self::from(VerifyError::Invalid)
    }

    /// The application forgot to provide the verifier: a bug, logged where it is found.
    #[cfg(feature = "actix")]
    fn misconfigured() -> Self {
        Self {
            status: 500,
            code: "internal_error",
            message: "internal error",
            cause: None,
        }
    }

    /// The HTTP status: 401, 503 when the token could not be checked, 500 when the
    /// application provides no verifier.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Gatehouse's error code, e.g. `token_expired`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The verification error, if a token was presented and refused.
    pub fn verify_error(&self) -> Option<&VerifyError> {
        self.cause.as_ref()
    }

    /// The response body.
    pub fn body(&self) -> serde_json::Value {
        json!({ "error": self.message, "code": self.code, "details": {} })
    }
}

impl From<VerifyError> for Rejection {
    fn from(error: VerifyError) -> Self {
        Self {
            status: error.http_status(),
            code: error.code(),
            message: error.public_message(),
            cause: Some(error),
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.code)
    }
}

impl std::error::Error for Rejection {}

/// The bearer token in an `Authorization` header value, as Gatehouse reads it: no header is
/// "not authenticated", another scheme too; a header that is not text or has no token is an
/// invalid token.
fn bearer_token(header: Option<&[u8]>) -> Result<&str, Rejection> {
    let Some(raw) = header else {
        return Err(Rejection::not_authenticated());
    };
    let value = std::str::from_utf8(raw).map_err(|_| Rejection::malformed())?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Rejection::not_authenticated());
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(Rejection::malformed());
    }
    Ok(token)
}

/// Checks the request's token with `verifier`, logging why a service could not.
async fn authenticate(
    verifier: &Verifier,
    header: Option<&[u8]>,
) -> Result<Authenticated, Rejection> {
    let token = bearer_token(header)?;
    match verifier.verify(token).await {
        Ok(claims) => Ok(Authenticated(claims)),
        Err(error) => {
            if error.is_unavailable() {
                tracing::warn!(%error, "token could not be verified");
            }
            Err(error.into())
        }
    }
}

#[cfg(feature = "actix")]
mod actix {
    use std::future::Future;
    use std::pin::Pin;

    use actix_web::http::StatusCode;
    use actix_web::http::header;
    use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, dev::Payload, web};

    use super::{Authenticated, Rejection, authenticate};
    use crate::verifier::Verifier;

    impl FromRequest for Authenticated {
        type Error = Rejection;
        type Future = Pin<Box<dyn Future<Output = Result<Self, Rejection>>>>;

        fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
            let verifier = req
                .app_data::<web::Data<Verifier>>()
                .map(|data| Verifier::clone(data))
                .or_else(|| req.app_data::<Verifier>().cloned());
            let header = req
                .headers()
                .get(header::AUTHORIZATION)
                .map(|v| v.as_bytes().to_vec());
            Box::pin(async move {
                let Some(verifier) = verifier else {
                    tracing::error!(
                        "gatehouse_verify::Authenticated needs the Verifier: add \
                         `.app_data(web::Data::new(verifier))` to the App"
                    );
                    return Err(Rejection::misconfigured());
                };
                authenticate(&verifier, header.as_deref()).await
            })
        }
    }

    impl ResponseError for Rejection {
        fn status_code(&self) -> StatusCode {
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        }

        fn error_response(&self) -> HttpResponse {
            let mut response = HttpResponse::build(self.status_code());
            if self.status == 401 {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            response.json(self.body())
        }
    }
}

#[cfg(feature = "axum")]
mod axum {
    use axum::extract::{FromRef, FromRequestParts};
    use axum::http::request::Parts;
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::{IntoResponse, Response};

    use super::{Authenticated, Rejection, authenticate};
    use crate::verifier::Verifier;

    impl<S> FromRequestParts<S> for Authenticated
    where
        Verifier: FromRef<S>,
        S: Send + Sync,
    {
        type Rejection = Rejection;

        async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
            let verifier = Verifier::from_ref(state);
            let header = parts
                .headers
                .get(header::AUTHORIZATION)
                .map(HeaderValue::as_bytes);
            authenticate(&verifier, header).await
        }
    }

    impl IntoResponse for Rejection {
        fn into_response(self) -> Response {
            let status =
                StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = (
                status,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                self.body().to_string(),
            )
                .into_response();
            if self.status == 401 {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_as_gatehouse_reads_them() {
        assert_eq!(bearer_token(Some(b"Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some(b"bearer  abc ")), Ok("abc"));
        assert_eq!(bearer_token(None).unwrap_err().code(), "not_authenticated");
        assert_eq!(
            bearer_token(Some(b"Basic YTpi")).unwrap_err().code(),
            "not_authenticated"
        );
        assert_eq!(
            bearer_token(Some(b"Bearer ")).unwrap_err().code(),
            "token_invalid"
        );
        assert_eq!(
            bearer_token(Some(b"Bearer")).unwrap_err().code(),
            "token_invalid"
        );
        assert_eq!(
            bearer_token(Some(b"Bearer \xff")).unwrap_err().code(),
            "token_invalid"
        );
    }

    #[test]
    fn the_body_is_gatehouse_error_body_without_internal_causes() {
        let rejection = Rejection::from(VerifyError::KeysUnavailable("dns failure".into()));
        assert_eq!(rejection.status(), 503);
        let body = rejection.body();
        assert_eq!(body["code"], "service_unavailable");
        assert_eq!(body["details"], json!({}));
        assert!(!body.to_string().contains("dns"));
    }
}
