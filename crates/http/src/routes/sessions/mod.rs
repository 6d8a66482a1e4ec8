//! Cookie sessions for browsers: sign in, check, sign out.

pub mod dto;

use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::OpenApi;

use gatehouse_application::{SignIn, StartedSession};
use gatehouse_domain::User;

use self::dto::{CurrentSessionResponse, SessionReply, SessionResponse};
use crate::client::Client;
use crate::error::ErrorBody;
use crate::extract::{Authenticated, JsonObject};
use crate::routes::auth::dto::LoginRequest;
use crate::routes::mfa::dto::MfaRequiredResponse;
use crate::routes::users::dto::UserResponse;
use crate::session_cookies::{self, session_id};
use crate::{ApiError, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/sessions").route(web::post().to(create)))
        .service(
            web::resource("/api/v1/sessions/current")
                .route(web::get().to(current))
                .route(web::delete().to(delete)),
        );
}

#[derive(OpenApi)]
#[openapi(paths(create, current, delete))]
pub struct Api;

/// Password login into a cookie session. Sets `gatehouse_session` (HttpOnly) and
/// `gatehouse_csrf` (`__Host-gatehouse_session` and `__Host-gatehouse_csrf` when cookies are
/// Secure); the session id is always new.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; cookies set (`__Host-` names when Secure). For an account with a second factor: `mfa_required` and the `mfa_token` for `/sessions/mfa`, no cookie", body = SessionReply),
        (status = 401, description = "invalid_credentials", body = ErrorBody),
        (status = 403, description = "Account deactivated", body = ErrorBody),
        (status = 409, description = "The account changed during sign-in; try again", body = ErrorBody),
        (status = 429, description = "Too many failed attempts for the account or address (`Retry-After`)", body = ErrorBody),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    client: Client,
    req: HttpRequest,
    body: JsonObject<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner().into_input(client.0)?;
    let previous = session_id(&req, &state.web);
    match state.auth.start_session(input, previous.as_deref()).await? {
        SignIn::Complete((user, session)) => Ok(session_reply(&state, &user, session)),
        SignIn::SecondFactor(challenge) => {
            Ok(HttpResponse::Ok().json(MfaRequiredResponse::from(challenge)))
        }
    }
}

/// 200 with the session's cookies and body: a session login, or its second step.
pub(crate) fn session_reply(state: &AppState, user: &User, session: StartedSession) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    for cookie in session_cookies::issue(&session, &state.web) {
        response.cookie(cookie);
    }
    response.json(SessionResponse {
        user: UserResponse::from(user),
        csrf_token: session.csrf_token,
        expires_at: session.expires_at,
    })
}

/// Whether the session cookie names a live session (200 either way).
#[utoipa::path(get, path = "/api/v1/sessions/current", tag = "sessions",
    responses(
        (status = 200, description = "The session, or `authenticated: false`", body = CurrentSessionResponse),
        (status = 503, description = "The session store is unavailable", body = ErrorBody),
    ))]
pub async fn current(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<CurrentSessionResponse>, ApiError> {
    let current = match session_id(&req, &state.web) {
        Some(id) => state.auth.current_session(&id).await?,
        None => None,
    };
    Ok(web::Json(CurrentSessionResponse::from(current)))
}

/// End the current session (CSRF header required) and clear its cookies.
#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "sessions",
    params(("X-CSRF-Token" = String, Header, description = "The session's CSRF token")),
    responses(
        (status = 204, description = "Logged out; cookies cleared"),
        (status = 401, description = "No session", body = ErrorBody),
        (status = 403, description = "csrf_failed", body = ErrorBody),
    ))]
pub async fn delete(
    state: web::Data<AppState>,
    user: Authenticated,
) -> Result<HttpResponse, ApiError> {
    state.auth.end_session(&user.0).await?;
    let mut response = HttpResponse::NoContent();
    for cookie in session_cookies::clear(&state.web) {
        response.cookie(cookie);
    }
    Ok(response.finish())
}
