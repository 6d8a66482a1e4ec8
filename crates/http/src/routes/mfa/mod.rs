//! Second factors: the owner's authenticator app, recovery codes and passkeys; the second
//! step of a sign-in (tokens or cookie session); passwordless passkey sign-in; an admin's
//! reset.

pub mod dto;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use gatehouse_domain::UserId;
use utoipa::OpenApi;

use self::dto::{
    AssertionOptionsResponse, CeremonyResponse, CodeRequest, FactorStatusResponse,
    MfaTokenRequest, MfaVerifyRequest, NewPasskeyResponse, PasskeyRegistrationRequest,
    PasskeySignInRequest, PasswordAndCodeRequest, PasswordRequest, RecoveryCodesResponse,
    TotpEnrolmentResponse, credential_object,
};
use crate::client::Client;
use crate::error::ErrorBody;
use crate::extract::{Authenticated, JsonObject, path_uuid};
use crate::middleware::no_content;
use crate::routes::auth::dto::LoginResponse;
use crate::routes::sessions::dto::SessionResponse;
use crate::routes::sessions::session_reply;
use crate::session_cookies::session_id;
use crate::{ApiError, AppState};

/// Mounted before `users` (`/users/me/...` is not `/users/{id}`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/users/me/mfa").route(web::get().to(status)))
        .service(
            web::resource("/api/v1/users/me/mfa/totp")
                .route(web::post().to(start_totp))
                .route(web::delete().to(disable_totp)),
        )
        .service(web::resource("/api/v1/users/me/mfa/totp/confirm").route(web::post().to(confirm_totp)))
        .service(
            web::resource("/api/v1/users/me/mfa/recovery-codes")
                .route(web::post().to(regenerate_recovery_codes)),
        )
        .service(
            web::resource("/api/v1/users/me/passkeys/register/start")
                .route(web::post().to(start_passkey_registration)),
        )
        .service(
            web::resource("/api/v1/users/me/passkeys/register/finish")
                .route(web::post().to(finish_passkey_registration)),
        )
        .service(web::resource("/api/v1/users/me/passkeys/{id}").route(web::delete().to(remove_passkey)))
        .service(web::resource("/api/v1/auth/mfa/verify").route(web::post().to(verify)))
        .service(web::resource("/api/v1/sessions/mfa").route(web::post().to(verify_session)))
        .service(web::resource("/api/v1/auth/mfa/webauthn/start").route(web::post().to(assertion_options)))
        .service(web::resource("/api/v1/auth/passkey/start").route(web::post().to(start_passkey_sign_in)))
        .service(web::resource("/api/v1/auth/passkey/finish").route(web::post().to(finish_passkey_sign_in)))
        .service(web::resource("/api/v1/users/{id}/mfa").route(web::delete().to(reset)));
}

#[derive(OpenApi)]
#[openapi(paths(
    status,
    start_totp,
    confirm_totp,
    disable_totp,
    regenerate_recovery_codes,
    start_passkey_registration,
    finish_passkey_registration,
    remove_passkey,
    verify,
    verify_session,
    assertion_options,
    start_passkey_sign_in,
    finish_passkey_sign_in,
    reset,
))]
pub struct Api;

/// The caller's second factors.
#[utoipa::path(get, path = "/api/v1/users/me/mfa", tag = "mfa", security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The caller's factors", body = FactorStatusResponse),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub async fn status(
    state: web::Data<AppState>,
    user: Authenticated,
) -> Result<web::Json<FactorStatusResponse>, ApiError> {
    Ok(web::Json(state.factors.status(&user.0).await?.into()))
}

/// Start enrolling an authenticator app (behind the password). Not required at sign-in
/// until confirmed with a first code.
#[utoipa::path(post, path = "/api/v1/users/me/mfa/totp", tag = "mfa", security(("bearer" = []), ("session" = [])),
    request_body = PasswordRequest,
    responses(
        (status = 200, description = "The secret, its otpauth URI and QR code", body = TotpEnrolmentResponse),
        (status = 400, description = "Wrong password", body = ErrorBody),
        (status = 409, description = "An authenticator app is enabled already", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords or codes, or second-factor changes, for the account", body = ErrorBody),
    ))]
pub async fn start_totp(
    state: web::Data<AppState>,
    user: Authenticated,
    body: JsonObject<PasswordRequest>,
) -> Result<web::Json<TotpEnrolmentResponse>, ApiError> {
    let password = body.into_inner().password.into();
    let enrolment = state.factors.start_totp(&user.0, &password).await?;
    Ok(web::Json(enrolment.into()))
}

/// Confirm the authenticator app with a first code: it is required at sign-in from now on.
/// Ten recovery codes, shown once.
#[utoipa::path(post, path = "/api/v1/users/me/mfa/totp/confirm", tag = "mfa", security(("bearer" = []), ("session" = [])),
    request_body = CodeRequest,
    responses(
        (status = 200, description = "Enabled; the recovery codes", body = RecoveryCodesResponse),
        (status = 400, description = "Wrong code", body = ErrorBody),
        (status = 409, description = "No enrolment started, or enabled already", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords or codes, or second-factor changes, for the account", body = ErrorBody),
    ))]
pub async fn confirm_totp(
    state: web::Data<AppState>,
    user: Authenticated,
    body: JsonObject<CodeRequest>,
) -> Result<web::Json<RecoveryCodesResponse>, ApiError> {
    let codes = state.factors.confirm_totp(&user.0, &body.code).await?;
    Ok(web::Json(codes.into()))
}

/// Remove the authenticator app (password and a code from it, or a recovery code).
#[utoipa::path(delete, path = "/api/v1/users/me/mfa/totp", tag = "mfa", security(("bearer" = []), ("session" = [])),
    request_body = PasswordAndCodeRequest,
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "Wrong password or code", body = ErrorBody),
        (status = 404, description = "No authenticator app", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords or codes, or second-factor changes, for the account", body = ErrorBody),
    ))]
pub async fn disable_totp(
    state: web::Data<AppState>,
    user: Authenticated,
    body: JsonObject<PasswordAndCodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    state
        .factors
        .disable_totp(&user.0, &body.password.into(), &body.code)
        .await?;
    Ok(no_content())
}

/// New recovery codes (password and a code); the earlier ones die.
#[utoipa::path(post, path = "/api/v1/users/me/mfa/recovery-codes", tag = "mfa", security(("bearer" = []), ("session" = [])),
    request_body = PasswordAndCodeRequest,
    responses(
        (status = 200, description = "The new codes", body = RecoveryCodesResponse),
        (status = 400, description = "Wrong password or code", body = ErrorBody),
        (status = 409, description = "No second factor", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords or codes, or second-factor changes, for the account", body = ErrorBody),
    ))]
pub async fn regenerate_recovery_codes(
    state: web::Data<AppState>,
    user: Authenticated,
    body: JsonObject<PasswordAndCodeRequest>,
) -> Result<web::Json<RecoveryCodesResponse>, ApiError> {
    let body = body.into_inner();
    let codes = state
        .factors
        .regenerate_recovery_codes(&user.0, &body.password.into(), &body.code)
        .await?;
    Ok(web::Json(codes.into()))
}

/// Start registering a passkey: creation options for `navigator.credentials.create`.
#[utoipa::path(post, path = "/api/v1/users/me/passkeys/register/start", tag = "mfa", security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The ceremony", body = CeremonyResponse),
        (status = 403, description = "The sign-in behind the credential is older than 15 minutes: sign in again", body = ErrorBody),
        (status = 409, description = "The account has 10 passkeys already", body = ErrorBody),
        (status = 429, description = "Too many second-factor changes for the account this hour", body = ErrorBody),
        (status = 503, description = "Passkeys are unavailable (the relying-party id is not a domain)", body = ErrorBody),
    ))]
pub async fn start_passkey_registration(
    state: web::Data<AppState>,
    user: Authenticated,
) -> Result<web::Json<CeremonyResponse>, ApiError> {
    let (challenge_id, options) = state.factors.start_passkey_registration(&user.0).await?;
    Ok(web::Json(CeremonyResponse {
        challenge_id,
        options,
    }))
}

/// Finish registering a passkey with the authenticator's response.
#[utoipa::path(post, path = "/api/v1/users/me/passkeys/register/finish", tag = "mfa", security(("bearer" = []), ("session" = [])),
    request_body = PasskeyRegistrationRequest,
    responses(
        (status = 201, description = "Registered", body = NewPasskeyResponse),
        (status = 400, description = "Unknown ceremony, bad name or refused credential", body = ErrorBody),
        (status = 409, description = "This passkey is registered already, or the account has 10", body = ErrorBody),
        (status = 503, description = "Passkeys are unavailable", body = ErrorBody),
    ))]
pub async fn finish_passkey_registration(
    state: web::Data<AppState>,
    user: Authenticated,
    body: JsonObject<PasskeyRegistrationRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let credential = credential_object(body.credential)?;
    let passkey = state
        .factors
        .finish_passkey_registration(&user.0, &body.challenge_id, &body.name, &credential)
        .await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(NewPasskeyResponse::from(passkey)))
}

/// Remove one of the caller's passkeys.
#[utoipa::path(delete, path = "/api/v1/users/me/passkeys/{id}", tag = "mfa", security(("bearer" = []), ("session" = [])),
    params(("id" = Uuid, Path, description = "Passkey id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "Not a UUID", body = ErrorBody),
        (status = 403, description = "The sign-in behind the credential is older than 15 minutes: sign in again", body = ErrorBody),
        (status = 404, description = "No such passkey of the caller's", body = ErrorBody),
        (status = 429, description = "Too many second-factor changes for the account this hour", body = ErrorBody),
    ))]
pub async fn remove_passkey(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    state.factors.remove_passkey(&user.0, id).await?;
    Ok(no_content())
}

/// The second step of a token login: a code (app or recovery) or a WebAuthn assertion.
#[utoipa::path(post, path = "/api/v1/auth/mfa/verify", tag = "mfa", request_body = MfaVerifyRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 400, description = "Neither or both of code and credential", body = ErrorBody),
        (status = 401, description = "invalid_credentials (wrong or replayed code, refused assertion); token_invalid (unknown, used or dead mfa_token); token_expired", body = ErrorBody),
        (status = 429, description = "Too many failures for the account", body = ErrorBody),
        (status = 503, description = "A credential was sent where passkeys are unavailable", body = ErrorBody),
    ))]
pub async fn verify(
    state: web::Data<AppState>,
    client: Client,
    body: JsonObject<MfaVerifyRequest>,
) -> Result<web::Json<LoginResponse>, ApiError> {
    let (token, proof) = body.into_inner().proof()?;
    let outcome = state.auth.complete_login(&token, proof, &client.0).await?;
    Ok(web::Json(outcome.into()))
}

/// The second step of a session login; sets the session cookies.
#[utoipa::path(post, path = "/api/v1/sessions/mfa", tag = "mfa", request_body = MfaVerifyRequest,
    responses(
        (status = 200, description = "Logged in; cookies set", body = SessionResponse),
        (status = 400, description = "Neither or both of code and credential", body = ErrorBody),
        (status = 401, description = "invalid_credentials, token_invalid or token_expired", body = ErrorBody),
        (status = 429, description = "Too many failures for the account", body = ErrorBody),
        (status = 503, description = "A credential was sent where passkeys are unavailable", body = ErrorBody),
    ))]
pub async fn verify_session(
    state: web::Data<AppState>,
    client: Client,
    req: HttpRequest,
    body: JsonObject<MfaVerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let (token, proof) = body.into_inner().proof()?;
    let previous = session_id(&req, &state.web);
    let (user, session) = state
        .auth
        .complete_session(&token, proof, &client.0, previous.as_deref())
        .await?;
    Ok(session_reply(&state, &user, session))
}

/// WebAuthn request options for the second step of the challenge `mfa_token`.
#[utoipa::path(post, path = "/api/v1/auth/mfa/webauthn/start", tag = "mfa", request_body = MfaTokenRequest,
    responses(
        (status = 200, description = "Request options", body = AssertionOptionsResponse),
        (status = 400, description = "The account has no passkey", body = ErrorBody),
        (status = 401, description = "token_invalid or token_expired", body = ErrorBody),
        (status = 503, description = "Passkeys are unavailable", body = ErrorBody),
    ))]
pub async fn assertion_options(
    state: web::Data<AppState>,
    client: Client,
    body: JsonObject<MfaTokenRequest>,
) -> Result<web::Json<AssertionOptionsResponse>, ApiError> {
    let options = state
        .factors
        .assertion_options(&body.mfa_token, &client.0)
        .await?;
    Ok(web::Json(AssertionOptionsResponse { options }))
}

/// Start a passwordless sign-in with a discoverable passkey.
#[utoipa::path(post, path = "/api/v1/auth/passkey/start", tag = "mfa",
    responses(
        (status = 200, description = "The ceremony", body = CeremonyResponse),
        (status = 429, description = "Too many from this address", body = ErrorBody),
        (status = 503, description = "Passkeys are unavailable", body = ErrorBody),
    ))]
pub async fn start_passkey_sign_in(
    state: web::Data<AppState>,
    client: Client,
) -> Result<web::Json<CeremonyResponse>, ApiError> {
    let (challenge_id, options) = state.factors.start_passkey_sign_in(&client.0).await?;
    Ok(web::Json(CeremonyResponse {
        challenge_id,
        options,
    }))
}

/// Finish a passwordless sign-in: tokens, as a login.
#[utoipa::path(post, path = "/api/v1/auth/passkey/finish", tag = "mfa", request_body = PasskeySignInRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 400, description = "The credential is not an object", body = ErrorBody),
        (status = 401, description = "invalid_credentials (refused assertion); token_invalid (unknown or used ceremony)", body = ErrorBody),
        (status = 403, description = "Account deactivated", body = ErrorBody),
        (status = 503, description = "Passkeys are unavailable", body = ErrorBody),
    ))]
pub async fn finish_passkey_sign_in(
    state: web::Data<AppState>,
    client: Client,
    body: JsonObject<PasskeySignInRequest>,
) -> Result<web::Json<LoginResponse>, ApiError> {
    let body = body.into_inner();
    let credential = credential_object(body.credential)?;
    let outcome = state
        .auth
        .passkey_login(&body.challenge_id, &credential, &client.0)
        .await?;
    Ok(web::Json(outcome.into()))
}

/// Remove every second factor of a user (admins only): the user is emailed, the reset
/// audited, and every session and token of theirs ends.
#[utoipa::path(delete, path = "/api/v1/users/{id}/mfa", tag = "mfa", security(("bearer" = []), ("session" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 204, description = "Every factor removed"),
        (status = 400, description = "Not a UUID", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub async fn reset(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = UserId::from_uuid(path_uuid(&id)?);
    state.factors.reset(&user.0, id).await?;
    Ok(no_content())
}
