use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use gatehouse_application::{ClientInfo, LoginIdentifier, LoginInput, NewUserInput};

use crate::client::client_info;

use crate::dto::{
    LoginRequest, LoginResponse, RegisterRequest, TokenResponse, UserEnvelope, UserResponse,
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
            .service(web::resource("/logout-all").route(web::post().to(logout_all))),
    );
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

/// Exchange a password for a token pair.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 400, description = "Neither email nor username given", body = ErrorBody),
        (status = 401, description = "invalid_credentials", body = ErrorBody),
        (status = 403, description = "Account deactivated", body = ErrorBody),
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
        (status = 401, description = "token_invalid or token_expired", body = ErrorBody),
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
