//! The one place where errors become HTTP responses.

use std::time::Duration;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use gatehouse_application::AppError;
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

/// The standard error body of every non-2xx response (API.md "Errors").
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Human-readable message.
    pub error: String,
    /// Machine-readable code, e.g. `validation_error`.
    pub code: &'static str,
    /// Messages by field; may be empty.
    #[schema(value_type = Object)]
    pub details: Value,
    /// The `X-Request-Id` of the request, for support.
    pub request_id: String,
    /// Endpoint-specific fields (e.g. `/health` adds `status` and `checks`).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extra: Map<String, Value>,
}

impl ErrorBody {
    /// The generic body for a status that no handler described (unknown route, 405, ...).
    pub(crate) fn for_status(status: StatusCode) -> Self {
        let (code, message) = match status.as_u16() {
            400 => ("bad_request", "The request is malformed."),
            401 => (
                "not_authenticated",
                "Authentication credentials were not provided.",
            ),
            403 => (
                "permission_denied",
                "You do not have permission to perform this action.",
            ),
            404 => ("not_found", "Not found."),
            405 => ("method_not_allowed", "Method not allowed."),
            413 => ("payload_too_large", "The request body is too large."),
            415 => ("unsupported_media_type", "Unsupported media type."),
            429 => ("rate_limited", "Too many requests."),
            503 => ("service_unavailable", "A required service is unavailable."),
            s if s >= 500 => ("internal_error", "Internal server error."),
            _ => ("bad_request", "The request could not be processed."),
        };
        Self {
            error: message.to_owned(),
            code,
            details: json!({}),
            request_id: String::new(),
            extra: Map::new(),
        }
    }
}

/// Fields of the standard body, which a DRF field error never shadows.
const STANDARD_FIELDS: [&str; 5] = ["error", "code", "details", "request_id", "detail"];

impl ErrorBody {
    /// The body in the form Django REST framework and SimpleJWT answer, for the
    /// SimpleJWT-compatible endpoints: the standard fields stay, and DRF's are added beside
    /// them: `detail` (SimpleJWT's own wording where it has one), `code: "token_not_valid"`
    /// for any token refused, and each field's messages at the top level
    /// (`{"refresh": ["..."]}`), as a DRF serializer reports them.
    pub(crate) fn in_drf_form(mut self) -> Self {
        let detail = match self.code {
            "token_invalid" => Some("Token is invalid"),
            "token_expired" => Some("Token is expired"),
            "invalid_credentials" => Some("No active account found with the given credentials"),
            _ => None,
        };
        if let Some(detail) = detail {
            detail.clone_into(&mut self.error);
        }
        if matches!(self.code, "token_invalid" | "token_expired") {
            self.code = "token_not_valid";
        }
        if let Some(fields) = self.details.as_object() {
            for (field, messages) in fields {
                if !STANDARD_FIELDS.contains(&field.as_str()) && !self.extra.contains_key(field) {
                    self.extra.insert(field.clone(), messages.clone());
                }
            }
        }
        self.extra
            .insert("detail".to_owned(), Value::String(self.error.clone()));
        self
    }
}

/// An error on its way to the client: status, code, message, details.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Box<ErrorBody>,
    retry_after: Option<Duration>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        let mut body = Box::new(ErrorBody::for_status(status));
        body.code = code;
        body.error = message.into();
        Self {
            status,
            body,
            retry_after: None,
        }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.body.details = details;
        self
    }

    /// The status, and what went wrong as lines a person can read (the message, then one
    /// line per field message), for pages that show an error instead of the JSON body.
    pub(crate) fn for_people(&self) -> (StatusCode, Vec<String>) {
        let mut lines = vec![self.body.error.clone()];
        if let Some(fields) = self.body.details.as_object() {
            for (field, messages) in fields {
                let messages = messages.as_array().into_iter().flatten();
                lines.extend(
                    messages
                        .filter_map(|m| m.as_str())
                        .map(|m| format!("{field}: {m}")),
                );
            }
        }
        (self.status, lines)
    }

    /// Adds endpoint-specific top-level fields to the body.
    pub fn with_extra(mut self, extra: Map<String, Value>) -> Self {
        self.body.extra = extra;
        self
    }

    /// 400 `validation_error` with one message for one field.
    pub fn validation(field: &str, message: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "validation_error",
            "The request is invalid.",
        )
        .with_details(json!({ field: [message] }))
    }

    /// 503 `service_unavailable`.
    pub fn unavailable(message: &str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            message,
        )
    }

    /// 403 `csrf_failed`: a cookie-authenticated unsafe request without the session's CSRF
    /// token, or from a foreign origin.
    pub fn csrf_failed() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "csrf_failed",
            "CSRF check failed: send the session's X-CSRF-Token from this site.",
        )
    }

    /// 404 `not_found`.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found.")
    }

    /// 500 `internal_error`, for a fault already logged where it happened.
    pub(crate) fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal server error.",
        )
    }

    /// 415 `unsupported_media_type`.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type must be application/json.",
        )
    }

    /// 400 `invalid_json`, or `validation_error` when the JSON is well-formed but the data
    /// does not fit (wrong type, unknown enum value, missing field).
    pub fn from_json(error: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        match error.classify() {
            // serde names a missing field; report it under that field, like any other rule.
            Category::Data => match (missing_field(error), unknown_field(error)) {
                (Some(field), _) => Self::validation(&field, "this field is required"),
                (_, Some(field)) => Self::validation(&field, "this field cannot be set here"),
                _ => Self::validation("body", &error.to_string()),
            },
            Category::Syntax | Category::Eof | Category::Io => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "The request body is not valid JSON.",
            ),
        }
    }
}

fn missing_field(error: &serde_json::Error) -> Option<String> {
    quoted_after(error, "missing field `")
}

/// Bodies that refuse unknown fields (`deny_unknown_fields`) name the offender.
fn unknown_field(error: &serde_json::Error) -> Option<String> {
    quoted_after(error, "unknown field `")
}

fn quoted_after(error: &serde_json::Error, prefix: &str) -> Option<String> {
    let message = error.to_string();
    let rest = message.strip_prefix(prefix)?;
    rest.split_once('`').map(|(field, _)| field.to_owned())
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body.code)
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        use StatusCode as S;
        let message = error.to_string();
        match error {
            AppError::Validation(errors) => Self::new(
                S::BAD_REQUEST,
                "validation_error",
                "The request is invalid.",
            )
            .with_details(json!(errors.fields())),
            AppError::InvalidCredentials => {
                Self::new(S::UNAUTHORIZED, "invalid_credentials", message)
            }
            AppError::NotAuthenticated => Self::new(S::UNAUTHORIZED, "not_authenticated", message),
            AppError::TokenInvalid => Self::new(S::UNAUTHORIZED, "token_invalid", message),
            AppError::TokenExpired => Self::new(S::UNAUTHORIZED, "token_expired", message),
            AppError::InvalidToken => Self::new(S::BAD_REQUEST, "invalid_token", message),
            AppError::AccountDisabled
            | AppError::PermissionDenied
            | AppError::RecentSignInRequired => {
                Self::new(S::FORBIDDEN, "permission_denied", message)
            }
            AppError::NotFound(_) => Self::new(S::NOT_FOUND, "not_found", message),
            AppError::Conflict { field, message } => {
                Self::new(S::CONFLICT, "conflict", message.clone())
                    .with_details(json!({ field: [message] }))
            }
            AppError::PayloadTooLarge => {
                Self::new(S::PAYLOAD_TOO_LARGE, "payload_too_large", message)
            }
            AppError::UnsupportedMediaType(_) => {
                Self::new(S::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message)
            }
            AppError::RateLimited { retry_after } => {
                let mut error = Self::new(S::TOO_MANY_REQUESTS, "rate_limited", message);
                error.retry_after = Some(retry_after);
                error
            }
            AppError::Unavailable(cause) => {
                tracing::error!(error = format!("{cause:#}"), "dependency unavailable");
                Self::new(S::SERVICE_UNAVAILABLE, "service_unavailable", message)
            }
            AppError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error");
                Self::new(S::INTERNAL_SERVER_ERROR, "internal_error", message)
            }
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    /// The body is written by the envelope middleware, which knows the request id; the
    /// response carries the [`ErrorBody`] to it in its extensions.
    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        if let Some(wait) = self.retry_after {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response.insert_header((header::RETRY_AFTER, seconds.max(1)));
        }
        let mut response = response.finish();
        response
            .extensions_mut()
            .insert(ErrorBody::clone(&self.body));
        response
    }
}

pub(crate) fn json_error(error: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let api = match &error {
        JsonPayloadError::ContentType => ApiError::unsupported_media_type(),
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "The request body is too large.",
            )
        }
        JsonPayloadError::Deserialize(e) => ApiError::from_json(e),
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "The request body could not be read.",
        ),
    };
    api.into()
}

pub(crate) fn query_error(error: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    ApiError::validation("query", &error.to_string()).into()
}

pub(crate) fn path_error(error: PathError, _: &HttpRequest) -> actix_web::Error {
    ApiError::validation("path", &error.to_string()).into()
}
