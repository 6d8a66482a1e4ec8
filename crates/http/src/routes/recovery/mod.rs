//! Account recovery: email verification and password reset by emailed token.

pub mod dto;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use utoipa::OpenApi;

use self::dto::{
    AcceptedResponse, EmailRequest, ResetPasswordRequest, ResetPasswordResponse,
    VerifyEmailRequest,
};
use crate::client::Client;
use crate::error::ErrorBody;
use crate::extract::JsonObject;
use crate::routes::users::dto::UserEnvelope;
use crate::{ApiError, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/auth/verify-email").route(web::post().to(verify_email)))
        .service(
            web::resource("/api/v1/auth/verify-email/resend")
                .route(web::post().to(resend_verification)),
        )
        .service(
            web::resource("/api/v1/auth/forgot-password").route(web::post().to(forgot_password)),
        )
        .service(
            web::resource("/api/v1/auth/reset-password").route(web::post().to(reset_password)),
        );
}

#[derive(OpenApi)]
#[openapi(paths(verify_email, resend_verification, forgot_password, reset_password))]
pub struct Api;

/// Confirm the account's address with the token from the verification email (single use).
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", request_body = VerifyEmailRequest,
    responses(
        (status = 200, description = "Verified", body = UserEnvelope),
        (status = 400, description = "invalid_token: unknown, expired or used", body = ErrorBody),
    ))]
pub async fn verify_email(
    state: web::Data<AppState>,
    client: Client,
    body: JsonObject<VerifyEmailRequest>,
) -> Result<web::Json<UserEnvelope>, ApiError> {
    let user = state.recovery.verify_email(&body.token, &client.0).await?;
    Ok(web::Json(UserEnvelope {
        user: (&user).into(),
    }))
}

/// Send the verification email again: 202 whether or not the address has an account, at
/// most one email per account per minute.
#[utoipa::path(post, path = "/api/v1/auth/verify-email/resend", tag = "auth", request_body = EmailRequest,
    responses(
        (status = 202, description = "Accepted", body = AcceptedResponse),
        (status = 400, description = "Not an email address", body = ErrorBody),
        (status = 429, description = "Too many from this address", body = ErrorBody),
    ))]
pub async fn resend_verification(
    state: web::Data<AppState>,
    client: Client,
    body: JsonObject<EmailRequest>,
) -> Result<HttpResponse, ApiError> {
    state
        .recovery
        .resend_verification(&body.email, &client.0)
        .await?;
    Ok(accepted())
}

/// Ask for a password reset email: 202 whether or not the address has an account.
#[utoipa::path(post, path = "/api/v1/auth/forgot-password", tag = "auth", request_body = EmailRequest,
    responses(
        (status = 202, description = "Accepted", body = AcceptedResponse),
        (status = 400, description = "Not an email address", body = ErrorBody),
        (status = 429, description = "Too many from this address", body = ErrorBody),
    ))]
pub async fn forgot_password(
    state: web::Data<AppState>,
    client: Client,
    body: JsonObject<EmailRequest>,
) -> Result<HttpResponse, ApiError> {
    state
        .recovery
        .forgot_password(&body.email, &client.0)
        .await?;
    Ok(accepted())
}

/// Choose a new password with the token from the reset email. Every session and token of
/// the account ends.
#[utoipa::path(post, path = "/api/v1/auth/reset-password", tag = "auth", request_body = ResetPasswordRequest,
    responses(
        (status = 200, description = "Password changed", body = ResetPasswordResponse),
        (status = 400, description = "invalid_token, or the password breaks the policy", body = ErrorBody),
    ))]
pub async fn reset_password(
    state: web::Data<AppState>,
    client: Client,
    body: JsonObject<ResetPasswordRequest>,
) -> Result<web::Json<ResetPasswordResponse>, ApiError> {
    state
        .recovery
        .reset_password(body.into_inner().into(), &client.0)
        .await?;
    Ok(web::Json(ResetPasswordResponse {
        status: "password_reset",
    }))
}

fn accepted() -> HttpResponse {
    HttpResponse::build(StatusCode::ACCEPTED).json(AcceptedResponse::ACCEPTED)
}
