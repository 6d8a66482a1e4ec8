//! Registration and bearer tokens: register, log in, refresh, log out.

pub mod dto;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::OpenApi;

use gatehouse_application::SignIn;

use self::dto::{
    LoginReply, LoginRequest, RefreshBody, RefreshRequest, RegisterRequest, TokenResponse,
};
use crate::client::Client;
use crate::error::ErrorBody;
use crate::extract::{Authenticated, JsonObject, refresh_token};
use crate::middleware::no_content;
use crate::routes::users::dto::UserEnvelope;
use crate::{ApiError, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/auth/register").route(web::post().to(register)))
        .service(web::resource("/api/v1/auth/login").route(web::post().to(login)))
        .service(web::resource("/api/v1/auth/refresh").route(web::post().to(refresh)))
        .service(web::resource("/api/v1/auth/logout").route(web::post().to(logout)))
        .service(web::resource("/api/v1/auth/logout-all").route(web::post().to(logout_all)));
}

#[derive(OpenApi)]
#[openapi(paths(register, login, refresh, logout, logout_all))]
pub struct Api;

/// Create an account. A verification email is queued.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Created", body = UserEnvelope),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 409, description = "Email or username taken", body = ErrorBody),
    ))]
pub async fn register(
    state: web::Data<AppState>,
    client: Client,
    body: JsonObject<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = state
        .auth
        .register(body.into_inner().into(), &client.0)
        .await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(UserEnvelope {
        user: (&user).into(),
    }))
}

/// Exchange a password for a token pair. Each attempt counts against the account's and the
/// address's failure limits before the password is checked (a right one gives it back).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; or, for an account with a second factor, `mfa_required` and the `mfa_token` for `/auth/mfa/verify`", body = LoginReply),
        (status = 400, description = "Neither email nor username given", body = ErrorBody),
        (status = 401, description = "invalid_credentials", body = ErrorBody),
        (status = 403, description = "Account deactivated", body = ErrorBody),
        (status = 409, description = "The account changed during sign-in; try again", body = ErrorBody),
        (status = 429, description = "Too many failed attempts for the account or address (`Retry-After`)", body = ErrorBody),
    ))]
pub async fn login(
    state: web::Data<AppState>,
    client: Client,
    body: JsonObject<LoginRequest>,
) -> Result<web::Json<LoginReply>, ApiError> {
    let input = body.into_inner().into_input(client.0)?;
    Ok(web::Json(match state.auth.login(input).await? {
        SignIn::Complete(outcome) => LoginReply::LoggedIn(Box::new(outcome.into())),
        SignIn::SecondFactor(challenge) => LoginReply::SecondFactor(challenge.into()),
    }))
}

/// Exchange a refresh token for a new pair; the old refresh token dies. Presenting a
/// rotated token again revokes its whole family.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth",
    request_body(content = RefreshBody, description = "Or send the token in X-Refresh-Token and no body"),
    params(("X-Refresh-Token" = Option<String>, Header, description = "The refresh token")),
    responses(
        (status = 200, description = "New pair", body = TokenResponse),
        (status = 400, description = "No refresh token", body = ErrorBody),
        (status = 401, description = "token_invalid, or token_expired (the token, or its family's absolute lifetime)", body = ErrorBody),
        (status = 429, description = "Too many refreshes from this address", body = ErrorBody),
    ))]
pub async fn refresh(
    state: web::Data<AppState>,
    client: Client,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let token = refresh_token(&req, &body)?
        .ok_or_else(|| ApiError::validation("refresh_token", "this field is required"))?;
    let pair = state
        .auth
        .refresh(&token, &client.0)
        .await?;
    Ok(web::Json(pair.into()))
}

/// Revoke the presented access token and, if sent, the refresh token's family.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = []), ("session" = [])),
    request_body(content = Option<RefreshRequest>, description = "Optional; or send the token in X-Refresh-Token"),
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
