use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use gatehouse_application::{
    CreateUserInput, NewUserInput, PasswordChange, ProfilePatch, UserPatch,
};
use gatehouse_domain::{DeviceId, UserId};
use uuid::Uuid;

use crate::dto::{
    ChangePasswordRequest, CreateUserRequest, CreditAdjustmentResponse, CreditRequest,
    CreditsResponse, DeviceList, LookupQuery, PageQuery, ProfilePatchRequest, UserPage,
    UserPatchRequest, UserResponse, UserViewResponse, parse_date,
};
use crate::error::ErrorBody;
use crate::extract::Authenticated;
use crate::middleware::no_content;
use crate::routes::uploads::read_file_field;
use crate::{ApiError, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Fixed paths first: `/users/me` and `/users/lookup` are not ids.
    cfg.service(
        web::resource("/users/me")
            .route(web::get().to(me))
            .route(web::patch().to(update_me)),
    )
    .service(web::resource("/users/me/password").route(web::post().to(change_password)))
    .service(web::resource("/users/me/avatar").route(web::put().to(set_avatar)))
    .service(web::resource("/users/me/credits").route(web::get().to(my_credits)))
    .service(web::resource("/users/me/devices").route(web::get().to(devices)))
    .service(web::resource("/users/me/devices/{id}").route(web::delete().to(revoke_device)))
    .service(web::resource("/users/lookup").route(web::get().to(lookup)))
    .service(
        web::resource("/users")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/users/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(deactivate)),
    )
    .service(web::resource("/users/{id}/credits").route(web::post().to(adjust_credits)));
}

/// Reads a path id; anything but a UUID is a 400, before any lookup.
pub(crate) fn path_uuid(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::validation("id", "must be a UUID"))
}

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
    let me = state.users.me(&user.0).await?;
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
    body: web::Json<ProfilePatchRequest>,
) -> Result<web::Json<UserResponse>, ApiError> {
    let body = body.into_inner();
    let notifications = body.notification_preferences.unwrap_or_default();
    let patch = ProfilePatch {
        first_name: body.first_name,
        last_name: body.last_name,
        phone_number: body.phone_number,
        birth_date: match body.birth_date {
            Some(Some(raw)) => Some(Some(parse_date("birth_date", &raw)?)),
            Some(None) => Some(None),
            None => None,
        },
        security_emails: notifications.security_emails,
        product_emails: notifications.product_emails,
    };
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
    body: web::Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let change = PasswordChange {
        current_password: body.current_password.into(),
        new_password: body.new_password.into(),
        new_password_confirm: body.new_password_confirm.into(),
    };
    state.profiles.change_password(&user.0, change).await?;
    Ok(no_content())
}

/// Upload a profile picture: multipart field `file`, PNG, JPEG or WebP (judged by content),
/// at most 4096 pixels a side. The whole request body is capped (`GATEHOUSE_AVATAR_MAX_BYTES`,
/// 2 MiB by default), whatever field carries the bytes.
#[utoipa::path(put, path = "/api/v1/users/me/avatar", tag = "users", security(("bearer" = []), ("session" = [])),
    request_body(content_type = "multipart/form-data", description = "field `file`"),
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

/// The caller's credit balance and latest entries.
#[utoipa::path(get, path = "/api/v1/users/me/credits", tag = "credits", security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "Balance and entries", body = CreditsResponse)))]
pub async fn my_credits(
    state: web::Data<AppState>,
    user: Authenticated,
) -> Result<web::Json<CreditsResponse>, ApiError> {
    let statement = state.credits.statement(&user.0).await?;
    Ok(web::Json(CreditsResponse {
        balance: statement.balance,
        entries: statement.entries.into_iter().map(Into::into).collect(),
    }))
}

/// Grant (positive) or spend (negative) a user's credits. Admins only; a spend the balance
/// does not cover is 409 and changes nothing.
#[utoipa::path(post, path = "/api/v1/users/{id}/credits", tag = "credits", security(("bearer" = []), ("session" = [])),
    params(("id" = Uuid, Path, description = "User id")), request_body = CreditRequest,
    responses(
        (status = 201, description = "Applied", body = CreditAdjustmentResponse),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "Insufficient credits", body = ErrorBody),
    ))]
pub async fn adjust_credits(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<String>,
    body: web::Json<CreditRequest>,
) -> Result<HttpResponse, ApiError> {
    let target = UserId::from_uuid(path_uuid(&id)?);
    let entry = state
        .credits
        .adjust(&user.0, target, body.amount, &body.reason)
        .await?;
    Ok(
        HttpResponse::build(StatusCode::CREATED).json(CreditAdjustmentResponse {
            balance: entry.balance_after,
            entry: entry.into(),
        }),
    )
}

/// The devices the caller signed in from, most recently seen first.
#[utoipa::path(get, path = "/api/v1/users/me/devices", tag = "users", security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The devices", body = DeviceList),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub async fn devices(
    state: web::Data<AppState>,
    user: Authenticated,
) -> Result<web::Json<DeviceList>, ApiError> {
    let views = state.devices.list(&user.0).await?;
    Ok(web::Json(DeviceList {
        results: views.into_iter().map(Into::into).collect(),
    }))
}

/// Forget a device and end its sessions, refresh tokens and live access tokens.
#[utoipa::path(delete, path = "/api/v1/users/me/devices/{id}", tag = "users", security(("bearer" = []), ("session" = [])),
    params(("id" = Uuid, Path, description = "Device id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "Not a UUID", body = ErrorBody),
        (status = 404, description = "No such device of the caller", body = ErrorBody),
    ))]
pub async fn revoke_device(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = DeviceId::from_uuid(path_uuid(&id)?);
    state.devices.revoke(&user.0, id).await?;
    Ok(no_content())
}

/// Users, newest first, by keyset cursor. Admins and holders of `can_view_users` get full
/// objects; everyone else gets public profiles (`id, username, first_name, last_name,
/// avatar_url`) except for their own row.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = []), ("session" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page", body = UserPage),
        (status = 400, description = "Bad limit or cursor", body = ErrorBody),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    user: Authenticated,
    query: web::Query<PageQuery>,
) -> Result<web::Json<UserPage>, ApiError> {
    let page = state
        .admin
        .list(&user.0, query.limit, query.cursor.as_deref())
        .await?;
    Ok(web::Json(UserPage {
        results: page.items.iter().map(Into::into).collect(),
        next_cursor: page.next,
        previous_cursor: page.previous,
    }))
}

/// Create a user: admins, or holders of `can_create_user` (who cannot set role or
/// permissions).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = []), ("session" = [])),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created", body = UserResponse),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 409, description = "Email or username taken", body = ErrorBody),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    user: Authenticated,
    body: web::Json<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let confirm = body
        .password_confirm
        .unwrap_or_else(|| body.password.clone());
    let input = CreateUserInput {
        account: NewUserInput {
            email: body.email,
            username: body.username,
            password: body.password.into(),
            password_confirm: confirm.into(),
            first_name: body.first_name,
            last_name: body.last_name,
        },
        role: body.role,
        permissions: body.permissions,
    };
    let created = state.admin.create(&user.0, input).await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(UserResponse::from(&created)))
}

/// Find a user by email, ignoring case: admins and holders of `can_view_users` only.
#[utoipa::path(get, path = "/api/v1/users/lookup", tag = "users", security(("bearer" = []), ("session" = [])),
    params(LookupQuery),
    responses(
        (status = 200, description = "The user", body = UserResponse),
        (status = 403, description = "Neither admin nor `can_view_users`", body = ErrorBody),
        (status = 404, description = "No user with that email", body = ErrorBody),
    ))]
pub async fn lookup(
    state: web::Data<AppState>,
    user: Authenticated,
    query: web::Query<LookupQuery>,
) -> Result<web::Json<UserResponse>, ApiError> {
    let found = state.admin.lookup(&user.0, &query.email).await?;
    Ok(web::Json((&found).into()))
}

/// One user: the full object for themself, admins and holders of `can_view_users`; the
/// public profile for everyone else.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = []), ("session" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = UserViewResponse),
        (status = 400, description = "Not a UUID", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<String>,
) -> Result<web::Json<UserViewResponse>, ApiError> {
    let id = UserId::from_uuid(path_uuid(&id)?);
    let found = state.admin.get(&user.0, id).await?;
    Ok(web::Json((&found).into()))
}

/// Change a user's role, permissions or active flag (admins only). Deactivating revokes
/// every session and token of the user.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = []), ("session" = [])),
    params(("id" = Uuid, Path, description = "User id")), request_body = UserPatchRequest,
    responses(
        (status = 200, description = "The updated user", body = UserResponse),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "An admin demoting or deactivating themselves, or the user kept changing meanwhile (try again)", body = ErrorBody),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<String>,
    body: web::Json<UserPatchRequest>,
) -> Result<web::Json<UserResponse>, ApiError> {
    let id = UserId::from_uuid(path_uuid(&id)?);
    let body = body.into_inner();
    let patch = UserPatch {
        role: body.role,
        permissions: body.permissions,
        is_active: body.is_active,
    };
    let updated = state.admin.update(&user.0, id, patch).await?;
    Ok(web::Json((&updated).into()))
}

/// Deactivate a user and revoke every session and token they hold (admins only).
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = []), ("session" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 204, description = "Deactivated"),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "An admin deactivating themselves, or the user kept changing meanwhile (try again)", body = ErrorBody),
    ))]
pub async fn deactivate(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = UserId::from_uuid(path_uuid(&id)?);
    state.admin.deactivate(&user.0, id).await?;
    Ok(no_content())
}
