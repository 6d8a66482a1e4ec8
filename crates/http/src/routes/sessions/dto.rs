//! Cookie session bodies.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::routes::mfa::dto::MfaRequiredResponse;
use crate::routes::users::dto::UserResponse;

/// A new cookie session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    pub user: UserResponse,
    /// Echo in `X-CSRF-Token` on unsafe requests (also in the `gatehouse_csrf` cookie).
    pub csrf_token: String,
    /// When the session ends if left idle; every request moves it (up to the absolute cap).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
}

/// What a session login answers: the session, or the second factor to ask for.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // Only its schema is used: the handler writes either body directly.
pub enum SessionReply {
    /// Logged in; cookies set.
    LoggedIn(Box<SessionResponse>),
    /// The password was right; a second factor must follow (no cookie).
    SecondFactor(MfaRequiredResponse),
}

/// `GET /api/v1/sessions/current`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentSessionResponse {
    pub authenticated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserResponse>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    /// How the user proved themselves when the session was opened: `pwd`, `otp`,
    /// `recovery_code`, `webauthn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<&'static str>>,
}

impl From<Option<gatehouse_application::CurrentSession>> for CurrentSessionResponse {
    fn from(current: Option<gatehouse_application::CurrentSession>) -> Self {
        match current {
            Some(session) => Self {
                authenticated: true,
                user: Some(UserResponse::from(&session.user)),
                expires_at: Some(session.expires_at),
                amr: Some(session.methods.iter().map(|m| m.as_str()).collect()),
            },
            None => Self {
                authenticated: false,
                user: None,
                expires_at: None,
                amr: None,
            },
        }
    }
}
