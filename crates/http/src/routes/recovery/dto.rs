//! Email verification and password reset bodies.

use gatehouse_application::PasswordResetInput;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::constraints;

/// `202 Accepted`, the same whether the address was new or not.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedResponse {
    #[schema(example = "accepted")]
    pub status: &'static str,
}

impl AcceptedResponse {
    /// `{"status": "accepted"}`.
    pub const ACCEPTED: Self = Self { status: "accepted" };
}

/// `POST /auth/verify-email`.
#[derive(Deserialize, ToSchema)]
pub struct VerifyEmailRequest {
    /// The token from the emailed link.
    pub token: String,
}

/// `POST /auth/verify-email/resend` and `POST /auth/forgot-password`.
#[derive(Deserialize, ToSchema)]
pub struct EmailRequest {
    #[schema(schema_with = constraints::email)]
    pub email: String,
}

/// `POST /auth/reset-password`.
#[derive(Deserialize, ToSchema)]
pub struct ResetPasswordRequest {
    /// The token from the emailed link.
    pub token: String,
    #[schema(schema_with = constraints::password)]
    pub password: String,
    pub password_confirm: String,
}

/// `POST /auth/reset-password` succeeded.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResetPasswordResponse {
    #[schema(example = "password_reset")]
    pub status: &'static str,
}

impl From<ResetPasswordRequest> for PasswordResetInput {
    fn from(body: ResetPasswordRequest) -> Self {
        Self {
            token: body.token.into(),
            password: body.password.into(),
            password_confirm: body.password_confirm.into(),
        }
    }
}
