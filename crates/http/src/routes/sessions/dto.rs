//! Cookie session bodies.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

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
}

impl From<Option<gatehouse_application::CurrentSession>> for CurrentSessionResponse {
    fn from(current: Option<gatehouse_application::CurrentSession>) -> Self {
        match current {
            Some(session) => Self {
                authenticated: true,
                user: Some(UserResponse::from(&session.user)),
                expires_at: Some(session.expires_at),
            },
            None => Self {
                authenticated: false,
                user: None,
                expires_at: None,
            },
        }
    }
}
