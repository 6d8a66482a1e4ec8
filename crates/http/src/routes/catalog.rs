//! The catalog: categories (admins write) and products (owners or admins write). Reading is
//! open to everyone.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use gatehouse_application::{CategoryFields, ProductQuery, WriteMode};
use gatehouse_domain::{CategoryId, ProductId};

use crate::dto::{
    CategoryPage, CategoryRequest, CategoryResponse, PageQuery, ProductListQuery, ProductPage,
    ProductRequest, ProductResponse,
};
use crate::error::ErrorBody;
use crate::extract::Authenticated;
use crate::middleware::no_content;
use crate::routes::users::path_uuid;
use crate::{ApiError, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/categories")
            .route(web::get().to(list_categories))
            .route(web::post().to(create_category)),
    )
    .service(
        web::resource("/categories/{id}")
            .route(web::get().to(show_category))
            .route(web::put().to(replace_category))
            .route(web::patch().to(patch_category))
            .route(web::delete().to(delete_category)),
    )
    .service(
        web::resource("/products")
            .route(web::get().to(list_products))
            .route(web::post().to(create_product)),
    )
    .service(
        web::resource("/products/{id}")
            .route(web::get().to(show_product))
            .route(web::put().to(replace_product))
            .route(web::patch().to(patch_product))
            .route(web::delete().to(delete_product)),
    );
}

fn category_id(raw: &str) -> Result<CategoryId, ApiError> {
    path_uuid(raw).map(CategoryId::from_uuid)
}

fn product_id(raw: &str) -> Result<ProductId, ApiError> {
    path_uuid(raw).map(ProductId::from_uuid)
}

fn category_fields(body: CategoryRequest) -> CategoryFields {
    CategoryFields {
        name: body.name,
        description: body.description,
    }
}

/// Categories, newest first, by keyset cursor.
#[utoipa::path(get, path = "/api/v1/categories", tag = "catalog", params(PageQuery),
    responses(
        (status = 200, description = "One page", body = CategoryPage),
        (status = 400, description = "Bad limit or cursor", body = ErrorBody),
    ))]
pub async fn list_categories(
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<CategoryPage>, ApiError> {
    let page = state
        .catalog
        .categories(query.limit, query.cursor.as_deref())
        .await?;
    Ok(web::Json(CategoryPage {
        results: page.items.iter().map(Into::into).collect(),
        next_cursor: page.next,
        previous_cursor: page.previous,
    }))
}

/// One category.
#[utoipa::path(get, path = "/api/v1/categories/{id}", tag = "catalog",
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
    body: web::Json<CategoryRequest>,
) -> Result<HttpResponse, ApiError> {
    let fields = category_fields(body.into_inner());
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
    let fields = category_fields(body);
    let updated = state
        .catalog
        .update_category(&user.0, category_id(id)?, fields, mode)
        .await?;
    Ok(web::Json((&updated).into()))
}

/// Replace a category (admins): `name` is required, a missing description becomes empty.
#[utoipa::path(put, path = "/api/v1/categories/{id}", tag = "catalog", request_body = CategoryRequest,
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
    body: web::Json<CategoryRequest>,
) -> Result<web::Json<CategoryResponse>, ApiError> {
    update_category(state, user, &id, body.into_inner(), WriteMode::Replace).await
}

/// Change some fields of a category (admins).
#[utoipa::path(patch, path = "/api/v1/categories/{id}", tag = "catalog", request_body = CategoryRequest,
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
    body: web::Json<CategoryRequest>,
) -> Result<web::Json<CategoryResponse>, ApiError> {
    update_category(state, user, &id, body.into_inner(), WriteMode::Patch).await
}

/// Delete a category (admins). One that still has products is a 409: delete or move them
/// first (no cascade).
#[utoipa::path(delete, path = "/api/v1/categories/{id}", tag = "catalog",
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

/// Products, filtered and ordered, by keyset cursor.
#[utoipa::path(get, path = "/api/v1/products", tag = "catalog", params(ProductListQuery),
    responses(
        (status = 200, description = "One page", body = ProductPage),
        (status = 400, description = "Bad filter, ordering, limit or cursor", body = ErrorBody),
    ))]
pub async fn list_products(
    state: web::Data<AppState>,
    query: web::Query<ProductListQuery>,
) -> Result<web::Json<ProductPage>, ApiError> {
    let query = query.into_inner();
    let page = state
        .catalog
        .products(ProductQuery {
            category: query.category,
            search: query.search,
            min_price: query.min_price,
            max_price: query.max_price,
            ordering: query.ordering,
            limit: query.limit,
            cursor: query.cursor,
        })
        .await?;
    Ok(web::Json(ProductPage {
        results: page.items.iter().map(Into::into).collect(),
        next_cursor: page.next,
        previous_cursor: page.previous,
    }))
}

/// One product.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "catalog",
    responses(
        (status = 200, description = "The product", body = ProductResponse),
        (status = 400, description = "Not a UUID", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
    ))]
pub async fn show_product(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<ProductResponse>, ApiError> {
    let product = state.catalog.product(product_id(&id)?).await?;
    Ok(web::Json((&product).into()))
}

/// Create a product; the caller owns it.
#[utoipa::path(post, path = "/api/v1/products", tag = "catalog", request_body = ProductRequest,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 201, description = "Created", body = ProductResponse),
        (status = 400, description = "Invalid fields or unknown category", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub async fn create_product(
    state: web::Data<AppState>,
    user: Authenticated,
    body: web::Json<ProductRequest>,
) -> Result<HttpResponse, ApiError> {
    let fields = body.into_inner().into_fields()?;
    let created = state.catalog.create_product(&user.0, fields).await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(ProductResponse::from(&created)))
}

async fn update_product(
    state: web::Data<AppState>,
    user: Authenticated,
    id: &str,
    body: ProductRequest,
    mode: WriteMode,
) -> Result<web::Json<ProductResponse>, ApiError> {
    let id = product_id(id)?;
    let fields = body.into_fields()?;
    let updated = state
        .catalog
        .update_product(&user.0, id, fields, mode)
        .await?;
    Ok(web::Json((&updated).into()))
}

/// Replace a product (its owner or an admin): name, price and category are required.
#[utoipa::path(put, path = "/api/v1/products/{id}", tag = "catalog", request_body = ProductRequest,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "Replaced", body = ProductResponse),
        (status = 400, description = "Invalid fields", body = ErrorBody),
        (status = 403, description = "Neither owner nor admin", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
    ))]
pub async fn replace_product(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<String>,
    body: web::Json<ProductRequest>,
) -> Result<web::Json<ProductResponse>, ApiError> {
    update_product(state, user, &id, body.into_inner(), WriteMode::Replace).await
}

/// Change some fields of a product (its owner or an admin).
#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "catalog", request_body = ProductRequest,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "Updated", body = ProductResponse),
        (status = 400, description = "Invalid fields", body = ErrorBody),
        (status = 403, description = "Neither owner nor admin", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
    ))]
pub async fn patch_product(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<String>,
    body: web::Json<ProductRequest>,
) -> Result<web::Json<ProductResponse>, ApiError> {
    update_product(state, user, &id, body.into_inner(), WriteMode::Patch).await
}

/// Delete a product (its owner or an admin).
#[utoipa::path(delete, path = "/api/v1/products/{id}", tag = "catalog",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Neither owner nor admin", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
    ))]
pub async fn delete_product(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .catalog
        .delete_product(&user.0, product_id(&id)?)
        .await?;
    Ok(no_content())
}
