//! Categories of the catalog: admins write, everyone reads.

pub mod dto;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use gatehouse_application::WriteMode;
use gatehouse_domain::CategoryId;
use utoipa::OpenApi;

use self::dto::{CategoryRequest, CategoryResponse};
use crate::error::ErrorBody;
use crate::extract::{Authenticated, JsonObject, path_uuid};
use crate::middleware::no_content;
use crate::openapi::RequiredFields;
use crate::pagination::{Page, PageQuery};
use crate::{ApiError, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/categories")
            .route(web::get().to(list_categories))
            .route(web::post().to(create_category)),
    )
    .service(
        web::resource("/api/v1/categories/{id}")
            .route(web::get().to(show_category))
            .route(web::put().to(replace_category))
            .route(web::patch().to(patch_category))
            .route(web::delete().to(delete_category)),
    );
}

#[derive(OpenApi)]
#[openapi(
    paths(
        list_categories, show_category, create_category, replace_category, patch_category,
        delete_category,
    ),
    modifiers(&NEW_CATEGORY)
)]
pub struct Api;

/// Creating or replacing a category needs its name; a patch does not.
const NEW_CATEGORY: RequiredFields = RequiredFields {
    schema: "CategoryRequest",
    name: "NewCategoryRequest",
    fields: &["name"],
    operations: &[
        ("post", "/api/v1/categories"),
        ("put", "/api/v1/categories/{id}"),
    ],
};

fn category_id(raw: &str) -> Result<CategoryId, ApiError> {
    path_uuid(raw).map(CategoryId::from_uuid)
}

/// Categories, newest first, by keyset cursor.
#[utoipa::path(get, path = "/api/v1/categories", tag = "catalog", params(PageQuery),
    responses(
        (status = 200, description = "One page", body = Page<CategoryResponse>),
        (status = 400, description = "Bad limit or cursor", body = ErrorBody),
    ))]
pub async fn list_categories(
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<CategoryResponse>>, ApiError> {
    let page = state
        .catalog
        .categories(query.limit, query.cursor.as_deref())
        .await?;
    Ok(web::Json(Page::from_page(page, |category| (&category).into())))
}

/// One category.
#[utoipa::path(get, path = "/api/v1/categories/{id}", tag = "catalog", params(("id" = Uuid, Path, description = "Category id")),
    responses(
        (status = 200, description = "The category", body = CategoryResponse),
        (status = 400, description = "Not a UUID", body = ErrorBody),
        (status = 404, description = "No such category", body = ErrorBody),
    ))]
pub async fn show_category(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<CategoryResponse>, ApiError> {
    let category = state.catalog.category(category_id(&id)?).await?;
    Ok(web::Json((&category).into()))
}

/// Create a category (admins).
#[utoipa::path(post, path = "/api/v1/categories", tag = "catalog", request_body = CategoryRequest,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 201, description = "Created", body = CategoryResponse),
        (status = 400, description = "Invalid fields", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "Name taken (ignoring case)", body = ErrorBody),
    ))]
pub async fn create_category(
    state: web::Data<AppState>,
    user: Authenticated,
    body: JsonObject<CategoryRequest>,
) -> Result<HttpResponse, ApiError> {
    let fields = body.into_inner().into();
    let created = state.catalog.create_category(&user.0, fields).await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(CategoryResponse::from(&created)))
}

async fn update_category(
    state: web::Data<AppState>,
    user: Authenticated,
    id: &str,
    body: CategoryRequest,
    mode: WriteMode,
) -> Result<web::Json<CategoryResponse>, ApiError> {
    let fields = body.into();
    let updated = state
        .catalog
        .update_category(&user.0, category_id(id)?, fields, mode)
        .await?;
    Ok(web::Json((&updated).into()))
}

/// Replace a category (admins): `name` is required, a missing description becomes empty.
#[utoipa::path(put, path = "/api/v1/categories/{id}", tag = "catalog", params(("id" = Uuid, Path, description = "Category id")), request_body = CategoryRequest,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "Replaced", body = CategoryResponse),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such category", body = ErrorBody),
        (status = 409, description = "Name taken", body = ErrorBody),
    ))]
pub async fn replace_category(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<String>,
    body: JsonObject<CategoryRequest>,
) -> Result<web::Json<CategoryResponse>, ApiError> {
    update_category(state, user, &id, body.into_inner(), WriteMode::Replace).await
}

/// Change some fields of a category (admins).
#[utoipa::path(patch, path = "/api/v1/categories/{id}", tag = "catalog", params(("id" = Uuid, Path, description = "Category id")), request_body = CategoryRequest,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "Updated", body = CategoryResponse),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such category", body = ErrorBody),
        (status = 409, description = "Name taken", body = ErrorBody),
    ))]
pub async fn patch_category(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<String>,
    body: JsonObject<CategoryRequest>,
) -> Result<web::Json<CategoryResponse>, ApiError> {
    update_category(state, user, &id, body.into_inner(), WriteMode::Patch).await
}

/// Delete a category (admins). One that still has products is a 409: delete or move them
/// first (no cascade).
#[utoipa::path(delete, path = "/api/v1/categories/{id}", tag = "catalog", params(("id" = Uuid, Path, description = "Category id")),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such category", body = ErrorBody),
        (status = 409, description = "The category has products", body = ErrorBody),
    ))]
pub async fn delete_category(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .catalog
        .delete_category(&user.0, category_id(&id)?)
        .await?;
    Ok(no_content())
}
