use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use gatehouse_application::{
    ClientInfo, LoginIdentifier, LoginInput, NewUserInput, PasswordResetInput,
};

use crate::client::client_info;

use crate::dto::{
    AcceptedResponse, EmailRequest, LoginRequest, LoginResponse, RegisterRequest,
    ResetPasswordRequest, ResetPasswordResponse, TokenResponse, UserEnvelope, UserResponse,
    VerifyEmailRequest,
};
use crate::error::ErrorBody;
use crate::extract::{Authenticated, refresh_token};
use crate::middleware::no_content;
use crate::{ApiError, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/auth")
            .service(web::resource("/register").route(web::post().to(register)))
            .service(web::resource("/login").route(web::post().to(login)))
            .service(web::resource("/refresh").route(web::post().to(refresh)))
            .service(web::resource("/logout").route(web::post().to(logout)))
            .service(web::resource("/logout-all").route(web::post().to(logout_all)))
            .service(web::resource("/verify-email").route(web::post().to(verify_email)))
            .service(
                web::resource("/verify-email/resend").route(web::post().to(resend_verification)),
            )
            .service(web::resource("/forgot-password").route(web::post().to(forgot_password)))
            .service(web::resource("/reset-password").route(web::post().to(reset_password))),
    );
}

/// Confirm the account's address with the token from the verification email (single use).
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", request_body = VerifyEmailRequest,
    responses(
        (status = 200, description = "Verified", body = UserEnvelope),
        (status = 400, description = "invalid_token: unknown, expired or used", body = ErrorBody),
    ))]
pub async fn verify_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<VerifyEmailRequest>,
) -> Result<web::Json<UserEnvelope>, ApiError> {
    let client = client_info(&req, &state.web);
    let user = state.recovery.verify_email(&body.token, &client).await?;
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
    req: HttpRequest,
    body: web::Json<EmailRequest>,
) -> Result<HttpResponse, ApiError> {
    let client = client_info(&req, &state.web);
    state
        .recovery
        .resend_verification(&body.email, &client)
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
    req: HttpRequest,
    body: web::Json<EmailRequest>,
) -> Result<HttpResponse, ApiError> {
    let client = client_info(&req, &state.web);
    state.recovery.forgot_password(&body.email, &client).await?;
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
    req: HttpRequest,
    body: web::Json<ResetPasswordRequest>,
) -> Result<web::Json<ResetPasswordResponse>, ApiError> {
    let client = client_info(&req, &state.web);
    let body = body.into_inner();
    let input = PasswordResetInput {
        token: body.token.into(),
        password: body.password.into(),
        password_confirm: body.password_confirm.into(),
    };
    state.recovery.reset_password(input, &client).await?;
    Ok(web::Json(ResetPasswordResponse {
        status: "password_reset",
    }))
}

fn accepted() -> HttpResponse {
    HttpResponse::build(StatusCode::ACCEPTED).json(AcceptedResponse { status: "accepted" })
}

/// Create an account. A verification email is queued.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Created", body = UserEnvelope),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 409, description = "Email or username taken", body = ErrorBody),
    ))]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let input = NewUserInput {
        email: body.email,
        username: body.username,
        password: body.password.into(),
        password_confirm: body.password_confirm.into(),
        first_name: body.first_name,
        last_name: body.last_name,
    };
    let user = state
        .auth
        .register(input, &client_info(&req, &state.web))
        .await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(UserEnvelope {
        user: (&user).into(),
    }))
}

/// Exchange a password for a token pair. Each attempt counts against the account's and the
/// address's failure limits before the password is checked (a right one gives it back).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 400, description = "Neither email nor username given", body = ErrorBody),
        (status = 401, description = "invalid_credentials", body = ErrorBody),
        (status = 403, description = "Account deactivated", body = ErrorBody),
        (status = 409, description = "The account changed during sign-in; try again", body = ErrorBody),
        (status = 429, description = "Too many failed attempts for the account or address (`Retry-After`)", body = ErrorBody),
    ))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Result<web::Json<LoginResponse>, ApiError> {
    let input = login_input(body.into_inner(), client_info(&req, &state.web))?;
    let outcome = state.auth.login(input).await?;
    Ok(web::Json(LoginResponse {
        tokens: outcome.tokens.into(),
        user: UserResponse::from(&outcome.user),
    }))
}

/// Reads a login form: the password and one of email or username.
pub fn login_input(body: LoginRequest, client: ClientInfo) -> Result<LoginInput, ApiError> {
    let identifier = match (body.email, body.username) {
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
        password: body.password.into(),
        client,
    })
}

/// Exchange a refresh token for a new pair; the old refresh token dies. Presenting a
/// rotated token again revokes its whole family.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth",
    request_body(content = crate::dto::RefreshRequest, description = "Or send the token in X-Refresh-Token"),
    params(("X-Refresh-Token" = Option<String>, Header, description = "The refresh token")),
    responses(
        (status = 200, description = "New pair", body = TokenResponse),
        (status = 400, description = "No refresh token", body = ErrorBody),
        (status = 401, description = "token_invalid, or token_expired (the token, or its family's absolute lifetime)", body = ErrorBody),
        (status = 429, description = "Too many refreshes from this address", body = ErrorBody),
    ))]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let token = refresh_token(&req, &body)?
        .ok_or_else(|| ApiError::validation("refresh_token", "this field is required"))?;
    let pair = state
        .auth
        .refresh(&token, &client_info(&req, &state.web))
        .await?;
    Ok(web::Json(pair.into()))
}

/// Revoke the presented access token and, if sent, the refresh token's family.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = []), ("session" = [])),
    request_body(content = crate::dto::RefreshRequest, description = "Optional; or send the token in X-Refresh-Token"),
    params(("X-Refresh-Token" = Option<String>, Header, description = "The refresh token")),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub async fn logout(
    state: web::Data<AppState>,
    user: Authenticated,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let token = refresh_token(&req, &body)?;
    state.auth.logout(&user.0, token.as_deref()).await?;
    Ok(no_content())
}

/// Revoke every token of the caller, on every instance.
#[utoipa::path(post, path = "/api/v1/auth/logout-all", tag = "auth", security(("bearer" = []), ("session" = [])),
    responses(
        (status = 204, description = "Everything revoked"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub async fn logout_all(
    state: web::Data<AppState>,
    user: Authenticated,
) -> Result<HttpResponse, ApiError> {
    state.auth.logout_all(&user.0).await?;
    Ok(no_content())
}
