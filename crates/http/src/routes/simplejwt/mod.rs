//! SimpleJWT-compatible token endpoints (`djangorestframework-simplejwt`'s four views), so a
//! Django front end switches to Gatehouse by changing its base URL. They are the token
//! service's own flows: login throttles, rotation, reuse detection and revocation all apply.
//! Errors keep the standard body and add DRF's `detail` (see [`drf_errors`]).

pub mod dto;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{Next, from_fn};
use actix_web::{Error, web};
use gatehouse_application::{AppError, SignIn};
use serde_json::{Map, Value};
use utoipa::OpenApi;

use self::dto::{EmptyResponse, RefreshTokenRequest, TokenPairResponse, VerifyTokenRequest};
use crate::client::Client;
use crate::error::ErrorBody;
use crate::extract::JsonObject;
use crate::routes::auth::dto::LoginRequest;
use crate::routes::mfa::dto::MfaRequiredResponse;
use crate::{ApiError, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/token")
            .wrap(from_fn(drf_errors))
            .service(web::resource("/").route(web::post().to(obtain_pair)))
            .service(web::resource("/refresh/").route(web::post().to(refresh)))
            .service(web::resource("/verify/").route(web::post().to(verify)))
            .service(web::resource("/blacklist/").route(web::post().to(blacklist))),
    );
}

#[derive(OpenApi)]
#[openapi(paths(obtain_pair, refresh, verify, blacklist))]
pub struct Api;

/// SimpleJWT's `TokenObtainPairView`: a password login (per-account and per-address
/// failure limits, reserved before the password is checked).
#[utoipa::path(post, path = "/api/token/", tag = "simplejwt", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenPairResponse),
        (status = 400, description = "Missing field: `{field: [message]}` beside the standard body", body = ErrorBody),
        (status = 401, description = "No active account found with the given credentials", body = ErrorBody),
        (status = 403, description = "`mfa_required`: the account has a second factor; the body carries `mfa_token` for /api/v1/auth/mfa/verify", body = ErrorBody),
        (status = 409, description = "The account changed during sign-in; try again", body = ErrorBody),
        (status = 429, description = "Too many failed attempts (`Retry-After`)", body = ErrorBody),
    ))]
pub async fn obtain_pair(
    state: web::Data<AppState>,
    client: Client,
    body: JsonObject<LoginRequest>,
) -> Result<web::Json<TokenPairResponse>, ApiError> {
    let input = body.into_inner().into_input(client.0)?;
    match state.auth.login(input).await {
        Ok(SignIn::Complete(outcome)) => Ok(web::Json(outcome.tokens.into())),
        Ok(SignIn::SecondFactor(challenge)) => Err(second_factor_required(challenge.into())),
        // SimpleJWT answers a deactivated account as it answers a wrong password.
        Err(AppError::AccountDisabled) => Err(AppError::InvalidCredentials.into()),
        Err(other) => Err(other.into()),
    }
}

/// SimpleJWT's `TokenRefreshView` with `ROTATE_REFRESH_TOKENS`: a new pair; the presented
/// refresh token dies, and presenting it again revokes its whole family.
#[utoipa::path(post, path = "/api/token/refresh/", tag = "simplejwt", request_body = RefreshTokenRequest,
    responses(
        (status = 200, description = "New pair", body = TokenPairResponse),
        (status = 400, description = "Missing field", body = ErrorBody),
        (status = 401, description = "`token_not_valid`: invalid, expired, blacklisted, rotated or wrong type", body = ErrorBody),
        (status = 429, description = "Too many from this address", body = ErrorBody),
    ))]
pub async fn refresh(
    state: web::Data<AppState>,
    client: Client,
    body: JsonObject<RefreshTokenRequest>,
) -> Result<web::Json<TokenPairResponse>, ApiError> {
    let pair = state.auth.refresh(&body.refresh, &client.0).await?;
    Ok(web::Json(pair.into()))
}

/// SimpleJWT's `TokenVerifyView`: `{}` when the access or refresh token would be accepted
/// now. A read: a rotated refresh token is refused without revoking its family.
#[utoipa::path(post, path = "/api/token/verify/", tag = "simplejwt", request_body = VerifyTokenRequest,
    responses(
        (status = 200, description = "Valid", body = EmptyResponse),
        (status = 400, description = "Missing field", body = ErrorBody),
        (status = 401, description = "`token_not_valid`", body = ErrorBody),
        (status = 429, description = "Too many from this address", body = ErrorBody),
    ))]
pub async fn verify(
    state: web::Data<AppState>,
    client: Client,
    body: JsonObject<VerifyTokenRequest>,
) -> Result<web::Json<EmptyResponse>, ApiError> {
    state.auth.check_token(&body.token, &client.0).await?;
    Ok(web::Json(EmptyResponse {}))
}

/// SimpleJWT's `TokenBlacklistView`: the refresh token's family ends. A token already
/// rotated is reuse: its family is revoked and the answer is 401.
#[utoipa::path(post, path = "/api/token/blacklist/", tag = "simplejwt", request_body = RefreshTokenRequest,
    responses(
        (status = 200, description = "Blacklisted", body = EmptyResponse),
        (status = 400, description = "Missing field", body = ErrorBody),
        (status = 401, description = "`token_not_valid`", body = ErrorBody),
        (status = 429, description = "Too many from this address", body = ErrorBody),
    ))]
pub async fn blacklist(
    state: web::Data<AppState>,
    client: Client,
    body: JsonObject<RefreshTokenRequest>,
) -> Result<web::Json<EmptyResponse>, ApiError> {
    state
        .auth
        .blacklist_refresh_token(&body.refresh, &client.0)
        .await?;
    Ok(web::Json(EmptyResponse {}))
}

/// SimpleJWT cannot ask for a second factor; the body says where to finish the sign-in.
fn second_factor_required(challenge: MfaRequiredResponse) -> ApiError {
    let extra = match serde_json::to_value(challenge) {
        Ok(Value::Object(fields)) => fields,
        _ => Map::new(),
    };
    ApiError::new(
        StatusCode::FORBIDDEN,
        "mfa_required",
        "This account has a second factor: finish the sign-in at /api/v1/auth/mfa/verify.",
    )
    .with_extra(extra)
}

/// Every error answered under `/api/token/`, whoever raised it (handler, extractor, router),
/// is put in DRF's form on its way to the envelope middleware, which writes it.
async fn drf_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let mut response = next.call(req).await?.map_into_boxed_body();
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        let body = response
            .response()
            .extensions()
            .get::<ErrorBody>()
            .cloned()
            .unwrap_or_else(|| ErrorBody::for_status(status));
        response
            .response_mut()
            .extensions_mut()
            .insert(body.in_drf_form());
    }
    Ok(response)
}
