//! Registration, login and token bodies.

use gatehouse_application::{ClientInfo, LoginIdentifier, LoginInput, NewUserInput, TokenPair};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiError;
use crate::routes::users::dto::UserResponse;

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

impl From<RegisterRequest> for NewUserInput {
    fn from(body: RegisterRequest) -> Self {
        Self {
            email: body.email,
            username: body.username,
            password: body.password.into(),
            password_confirm: body.password_confirm.into(),
            first_name: body.first_name,
            last_name: body.last_name,
        }
    }
}

impl LoginRequest {
    /// The login attempt by `client`: the password and one of email or username.
    pub fn into_input(self, client: ClientInfo) -> Result<LoginInput, ApiError> {
        let identifier = match (self.email, self.username) {
            (Some(email), _) => LoginIdentifier::Email(email),
            (None, Some(username)) => LoginIdentifier::Username(username),
            (None, None) => {
                return Err(ApiError::validation(
                    "email",
                    "email or username is required",
                ));
            }
        };
        Ok(LoginInput {
            identifier,
            password: self.password.into(),
            client,
        })
    }
}
