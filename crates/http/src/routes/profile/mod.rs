//! The caller's own account: read it, change profile fields, password and avatar; and the
//! stored avatars themselves.

pub mod dto;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::OpenApi;

use self::dto::{AvatarUpload, ChangePasswordRequest, ProfilePatchRequest};
use crate::error::ErrorBody;
use crate::extract::{Authenticated, JsonObject};
use crate::middleware::no_content;
use crate::routes::uploads::read_file_field;
use crate::routes::users::dto::UserResponse;
use crate::{ApiError, AppState};

/// Mounted before `/users/{id}`: `me` is not an id.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/users/me")
            .route(web::get().to(me))
            .route(web::patch().to(update_me)),
    )
    .service(web::resource("/api/v1/users/me/password").route(web::post().to(change_password)))
    .service(web::resource("/api/v1/users/me/avatar").route(web::put().to(set_avatar)))
    .service(web::resource("/media/avatars/{file}").route(web::get().to(avatar)));
}

#[derive(OpenApi)]
#[openapi(paths(me, update_me, change_password, set_avatar, avatar))]
pub struct Api;

/// The caller's own account.
#[utoipa::path(get, path = "/api/v1/users/me", tag = "users", security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The user", body = UserResponse),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub async fn me(
    state: web::Data<AppState>,
    user: Authenticated,
) -> Result<web::Json<UserResponse>, ApiError> {
    let me = state.profiles.me(&user.0).await?;
    Ok(web::Json((&me).into()))
}

/// Change the caller's profile fields. Account fields (`role`, `permissions`, `is_verified`,
/// `is_active`, `email`, `username`, `credits`) are refused with 400.
#[utoipa::path(patch, path = "/api/v1/users/me", tag = "users", security(("bearer" = []), ("session" = [])),
    request_body = ProfilePatchRequest,
    responses(
        (status = 200, description = "The updated user", body = UserResponse),
        (status = 400, description = "Invalid or read-only field", body = ErrorBody),
    ))]
pub async fn update_me(
    state: web::Data<AppState>,
    user: Authenticated,
    body: JsonObject<ProfilePatchRequest>,
) -> Result<web::Json<UserResponse>, ApiError> {
    let patch = body.into_inner().try_into()?;
    let updated = state.profiles.update(&user.0, patch).await?;
    Ok(web::Json((&updated).into()))
}

/// Change the password. Every other session and every token of the user is revoked (a
/// bearer caller's own tokens too: sign in again with the new password).
#[utoipa::path(post, path = "/api/v1/users/me/password", tag = "users", security(("bearer" = []), ("session" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "Wrong current password or weak new one", body = ErrorBody),
        (status = 429, description = "Too many wrong current passwords", body = ErrorBody),
    ))]
pub async fn change_password(
    state: web::Data<AppState>,
    user: Authenticated,
    body: JsonObject<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    state
        .profiles
        .change_password(&user.0, body.into_inner().into())
        .await?;
    Ok(no_content())
}

/// Upload a profile picture: multipart field `file`, PNG, JPEG or WebP (judged by content),
/// at most 4096 pixels a side. The whole request body is capped (`GATEHOUSE_AVATAR_MAX_BYTES`,
/// 2 MiB by default), whatever field carries the bytes.
#[utoipa::path(put, path = "/api/v1/users/me/avatar", tag = "users", security(("bearer" = []), ("session" = [])),
    request_body(content = AvatarUpload, content_type = "multipart/form-data", description = "field `file`"),
    responses(
        (status = 200, description = "The user with its new avatar_url", body = UserResponse),
        (status = 400, description = "No file field, or a corrupt image", body = ErrorBody),
        (status = 413, description = "The body is over the cap", body = ErrorBody),
        (status = 415, description = "Not PNG, JPEG or WebP, or not multipart", body = ErrorBody),
    ))]
pub async fn set_avatar(
    state: web::Data<AppState>,
    user: Authenticated,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<web::Json<UserResponse>, ApiError> {
    let bytes = read_file_field(&req, payload, "file", state.web.avatar_max_bytes).await?;
    let updated = state.profiles.set_avatar(&user.0, bytes).await?;
    Ok(web::Json((&updated).into()))
}

/// A stored avatar. Served with its detected type, a strict CSP and a long cache life (its
/// URL changes with every upload).
#[utoipa::path(get, path = "/media/avatars/{file}", tag = "users",
    params(("file" = String, Path, description = "`<user id>.<png|jpg|webp>`")),
    responses(
        (status = 200, description = "The image"),
        (status = 404, description = "No such file", body = ErrorBody),
    ))]
pub async fn avatar(
    state: web::Data<AppState>,
    file: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let stored = state.profiles.avatar_file(&file).await?;
    Ok(HttpResponse::Ok()
        .content_type(stored.content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'"))
        .body(stored.bytes))
}
