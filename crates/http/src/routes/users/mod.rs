//! The user directory and its administration: list, create, look up, change, deactivate.

pub mod dto;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use gatehouse_domain::UserId;
use utoipa::OpenApi;

use self::dto::{
    CreateUserRequest, LookupQuery, UserPatchRequest, UserResponse, UserViewResponse,
};
use crate::error::ErrorBody;
use crate::extract::{Authenticated, JsonObject, path_uuid};
use crate::middleware::no_content;
use crate::pagination::{Page, PageQuery};
use crate::{ApiError, AppState};

/// Mounted after the `/users/me...` routes: `me` is not an id.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/users/lookup").route(web::get().to(lookup)))
        .service(
            web::resource("/api/v1/users")
                .route(web::get().to(list))
                .route(web::post().to(create)),
        )
        .service(
            web::resource("/api/v1/users/{id}")
                .route(web::get().to(get))
                .route(web::patch().to(update))
                .route(web::delete().to(deactivate)),
        );
}

#[derive(OpenApi)]
#[openapi(paths(list, create, lookup, get, update, deactivate))]
pub struct Api;

/// Users, newest first, by keyset cursor. Admins and holders of `can_view_users` get full
/// objects; everyone else gets public profiles (`id, username, first_name, last_name,
/// avatar_url`) except for their own row.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = []), ("session" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page", body = Page<UserViewResponse>),
        (status = 400, description = "Bad limit or cursor", body = ErrorBody),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    user: Authenticated,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<UserViewResponse>>, ApiError> {
    let page = state
        .admin
        .list(&user.0, query.limit, query.cursor.as_deref())
        .await?;
    Ok(web::Json(Page::from_page(page, |view| (&view).into())))
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
    body: JsonObject<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let created = state.admin.create(&user.0, body.into_inner().into()).await?;
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
    body: JsonObject<UserPatchRequest>,
) -> Result<web::Json<UserResponse>, ApiError> {
    let id = UserId::from_uuid(path_uuid(&id)?);
    let updated = state
        .admin
        .update(&user.0, id, body.into_inner().into())
        .await?;
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
