//! Products of the catalog: owners or admins write, everyone reads.

pub mod dto;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use gatehouse_application::WriteMode;
use gatehouse_domain::ProductId;
use utoipa::OpenApi;

use self::dto::{ProductListQuery, ProductRequest, ProductResponse};
use crate::error::ErrorBody;
use crate::extract::{Authenticated, JsonObject, path_uuid};
use crate::middleware::no_content;
use crate::openapi::RequiredFields;
use crate::pagination::Page;
use crate::{ApiError, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/products")
            .route(web::get().to(list_products))
            .route(web::post().to(create_product)),
    )
    .service(
        web::resource("/api/v1/products/{id}")
            .route(web::get().to(show_product))
            .route(web::put().to(replace_product))
            .route(web::patch().to(patch_product))
            .route(web::delete().to(delete_product)),
    );
}

#[derive(OpenApi)]
#[openapi(
    paths(
        list_products, show_product, create_product, replace_product, patch_product,
        delete_product,
    ),
    modifiers(&NEW_PRODUCT)
)]
pub struct Api;

/// Creating or replacing a product needs its name, price and category; a patch does not.
const NEW_PRODUCT: RequiredFields = RequiredFields {
    schema: "ProductRequest",
    name: "NewProductRequest",
    fields: &["name", "price", "category"],
    operations: &[
        ("post", "/api/v1/products"),
        ("put", "/api/v1/products/{id}"),
    ],
};

fn product_id(raw: &str) -> Result<ProductId, ApiError> {
    path_uuid(raw).map(ProductId::from_uuid)
}

/// Products, filtered and ordered, by keyset cursor.
#[utoipa::path(get, path = "/api/v1/products", tag = "catalog", params(ProductListQuery),
    responses(
        (status = 200, description = "One page", body = Page<ProductResponse>),
        (status = 400, description = "Bad filter, ordering, limit or cursor", body = ErrorBody),
    ))]
pub async fn list_products(
    state: web::Data<AppState>,
    query: web::Query<ProductListQuery>,
) -> Result<web::Json<Page<ProductResponse>>, ApiError> {
    let page = state.catalog.products(query.into_inner().into()).await?;
    Ok(web::Json(Page::from_page(page, |product| (&product).into())))
}

/// One product.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "catalog", params(("id" = Uuid, Path, description = "Product id")),
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
    body: JsonObject<ProductRequest>,
) -> Result<HttpResponse, ApiError> {
    let fields = body.into_inner().try_into()?;
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
    let fields = body.try_into()?;
    let updated = state
        .catalog
        .update_product(&user.0, id, fields, mode)
        .await?;
    Ok(web::Json((&updated).into()))
}

/// Replace a product (its owner or an admin): name, price and category are required.
#[utoipa::path(put, path = "/api/v1/products/{id}", tag = "catalog", params(("id" = Uuid, Path, description = "Product id")), request_body = ProductRequest,
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
    body: JsonObject<ProductRequest>,
) -> Result<web::Json<ProductResponse>, ApiError> {
    update_product(state, user, &id, body.into_inner(), WriteMode::Replace).await
}

/// Change some fields of a product (its owner or an admin).
#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "catalog", params(("id" = Uuid, Path, description = "Product id")), request_body = ProductRequest,
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
    body: JsonObject<ProductRequest>,
) -> Result<web::Json<ProductResponse>, ApiError> {
    update_product(state, user, &id, body.into_inner(), WriteMode::Patch).await
}

/// Delete a product (its owner or an admin).
#[utoipa::path(delete, path = "/api/v1/products/{id}", tag = "catalog", params(("id" = Uuid, Path, description = "Product id")),
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
