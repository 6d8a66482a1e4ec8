//! Request and response bodies, with their OpenAPI schemas.

use gatehouse_application::TokenPair;
use gatehouse_domain::User;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A user as clients see it. Never carries the password hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub id: Uuid,
    pub email: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    /// `admin` or `user`.
    #[schema(example = "user")]
    pub role: &'static str,
    /// Permission names, e.g. `can_create_user`.
    pub permissions: Vec<&'static str>,
    pub is_active: bool,
    pub is_verified: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<&User> for UserResponse {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.as_uuid(),
            email: user.email.as_str().to_owned(),
            username: user.username.as_str().to_owned(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            role: user.role.as_str(),
            permissions: user.permissions.iter().map(|p| p.as_str()).collect(),
            is_active: user.is_active,
            is_verified: user.is_verified,
            created_at: user.created_at,
        }
    }
}

/// `{"user": ...}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserEnvelope {
    pub user: UserResponse,
}

/// Registration form.
#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    #[schema(example = "jane@example.com")]
    pub email: String,
    #[schema(example = "jane")]
    pub username: String,
    /// 8 characters to 72 bytes; not common, not all digits, not like the email or username.
    pub password: String,
    pub password_confirm: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// Login: the password and one of `email` or `username`.
#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: Option<String>,
    pub username: Option<String>,
    pub password: String,
}

/// A token pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Access token lifetime in seconds.
    #[schema(example = 900)]
    pub expires_in: u64,
}

impl From<TokenPair> for TokenResponse {
    fn from(pair: TokenPair) -> Self {
        Self {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
            token_type: "Bearer",
            expires_in: pair.expires_in,
        }
    }
}

/// A successful login.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    #[serde(flatten)]
    pub tokens: TokenResponse,
    pub user: UserResponse,
}

/// The refresh token, when not sent in `X-Refresh-Token`.
#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: Option<String>,
}

/// One dependency in `/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckStatus {
    /// `ok` or `unavailable`.
    pub status: &'static str,
}

/// `/health`, `/health/live`, `/health/ready`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// `ok` or `unhealthy`.
    pub status: &'static str,
    /// By dependency name (`database`, `cache`).
    #[schema(value_type = Object)]
    pub checks: std::collections::BTreeMap<&'static str, CheckStatus>,
}

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

/// A device the user signed in from.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceResponse {
    pub id: Uuid,
    pub user_agent: String,
    pub ip: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub first_seen_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_at: OffsetDateTime,
    /// Whether this request comes from it.
    pub current: bool,
}

impl From<gatehouse_application::DeviceView> for DeviceResponse {
    fn from(view: gatehouse_application::DeviceView) -> Self {
        let device = view.device;
        Self {
            id: device.id.as_uuid(),
            user_agent: device.user_agent,
            ip: device.ip,
            first_seen_at: device.first_seen_at,
            last_seen_at: device.last_seen_at,
            current: view.current,
        }
    }
}

/// `{"results": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceList {
    pub results: Vec<DeviceResponse>,
}
