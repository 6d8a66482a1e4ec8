//! `/admin/catalog`: categories and products, created, edited and deleted through the
//! catalog service like any API client's change (and audited by it).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use gatehouse_application::{CategoryFields, ProductFields, ProductQuery, WriteMode};
use gatehouse_domain::{CategoryId, ProductId};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::pages::{CatalogPage, CategoryPage, CategoryRow, ProductPage, ProductRow};
use super::view::Pager;
use super::{Confirmation, Reply, admin, admin_form, done, page, path_id, reply};
use crate::AppState;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/catalog").route(web::get().to(overview)))
        .service(web::resource("/admin/catalog/categories").route(web::post().to(create_category)))
        .service(
            web::resource("/admin/catalog/categories/{id}")
                .route(web::get().to(show_category))
                .route(web::post().to(save_category)),
        )
        .service(
            web::resource("/admin/catalog/categories/{id}/delete")
                .route(web::post().to(delete_category)),
        )
        .service(web::resource("/admin/catalog/products").route(web::post().to(create_product)))
        .service(
            web::resource("/admin/catalog/products/{id}")
                .route(web::get().to(show_product))
                .route(web::post().to(save_product)),
        )
        .service(
            web::resource("/admin/catalog/products/{id}/delete")
                .route(web::post().to(delete_product)),
        );
}

/// How many categories a product's category list offers.
const CATEGORY_CHOICES: u64 = 100;

#[derive(Deserialize)]
struct Cursors {
    categories: Option<String>,
    products: Option<String>,
    done: Option<String>,
}

async fn overview(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<Cursors>,
) -> HttpResponse {
    reply(catalog(&req, &state, &query).await)
}

async fn catalog(req: &HttpRequest, state: &AppState, query: &Cursors) -> Reply {
    let admin = admin(req, state).await?;
    let categories = state
        .catalog
        .categories(Some(CATEGORY_CHOICES), query.categories.as_deref())
        .await?;
    let products = state
        .catalog
        .products(ProductQuery {
            limit: Some(25),
            cursor: query.products.clone(),
            ..ProductQuery::default()
        })
        .await?;
    let link = |key: &'static str, cursor: Option<&str>| {
        cursor.map(|cursor| format!("/admin/catalog{}", super::view::query(&[(key, cursor)])))
    };
    let overview = CatalogPage {
        chrome: admin.chrome(query.done.as_deref()),
        categories: categories.items.iter().map(CategoryRow::of).collect(),
        products: products.items.iter().map(ProductRow::of).collect(),
        categories_pager: Pager {
            previous: link("categories", categories.previous.as_deref()),
            next: link("categories", categories.next.as_deref()),
        },
        products_pager: Pager {
            previous: link("products", products.previous.as_deref()),
            next: link("products", products.next.as_deref()),
        },
    };
    Ok(page(StatusCode::OK, &overview)?)
}

#[derive(Deserialize)]
struct CategoryForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

impl From<CategoryForm> for CategoryFields {
    fn from(form: CategoryForm) -> Self {
        Self {
            name: Some(form.name),
            description: Some(form.description),
        }
    }
}

#[derive(Deserialize)]
struct ProductForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    category: String,
}

impl From<ProductForm> for ProductFields {
    fn from(form: ProductForm) -> Self {
        Self {
            name: Some(form.name),
            description: Some(form.description),
            price: Some(form.price),
            category: Some(form.category),
        }
    }
}

async fn create_category(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    reply(
        async {
            let (admin, typed) = admin_form::<CategoryForm>(&req, &state, &body).await?;
            let category = state
                .catalog
                .create_category(&admin.principal, typed.into())
                .await?;
            Ok(done(
                &format!("/admin/catalog/categories/{}", category.id),
                "created",
            ))
        }
        .await,
    )
}

async fn show_category(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<Confirmation>,
) -> HttpResponse {
    reply(
        async {
            let admin = admin(&req, &state).await?;
            let category = state
                .catalog
                .category(path_id(&path, CategoryId::from_uuid)?)
                .await?;
            let shown = CategoryPage {
                chrome: admin.chrome(query.done.as_deref()),
                category: CategoryRow::of(&category),
            };
            Ok(page(StatusCode::OK, &shown)?)
        }
        .await,
    )
}

async fn save_category(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    reply(
        async {
            let (admin, typed) = admin_form::<CategoryForm>(&req, &state, &body).await?;
            let id = path_id(&path, CategoryId::from_uuid)?;
            state
                .catalog
                .update_category(&admin.principal, id, typed.into(), WriteMode::Replace)
                .await?;
            Ok(done(&format!("/admin/catalog/categories/{id}"), "saved"))
        }
        .await,
    )
}

async fn delete_category(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    reply(
        async {
            let (admin, IgnoredAny) = admin_form::<IgnoredAny>(&req, &state, &body).await?;
            let id = path_id(&path, CategoryId::from_uuid)?;
            state.catalog.delete_category(&admin.principal, id).await?;
            Ok(done("/admin/catalog", "deleted"))
        }
        .await,
    )
}

async fn create_product(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    reply(
        async {
            let (admin, typed) = admin_form::<ProductForm>(&req, &state, &body).await?;
            let product = state
                .catalog
                .create_product(&admin.principal, typed.into())
                .await?;
            Ok(done(
                &format!("/admin/catalog/products/{}", product.id),
                "created",
            ))
        }
        .await,
    )
}

async fn show_product(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<Confirmation>,
) -> HttpResponse {
    reply(
        async {
            let admin = admin(&req, &state).await?;
            let product = state
                .catalog
                .product(path_id(&path, ProductId::from_uuid)?)
                .await?;
            let choices = state
                .catalog
                .categories(Some(CATEGORY_CHOICES), None)
                .await?;
            let shown = ProductPage {
                chrome: admin.chrome(query.done.as_deref()),
                product: ProductRow::of(&product),
                categories: choices.items.iter().map(CategoryRow::of).collect(),
            };
            Ok(page(StatusCode::OK, &shown)?)
        }
        .await,
    )
}

async fn save_product(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    reply(
        async {
            let (admin, typed) = admin_form::<ProductForm>(&req, &state, &body).await?;
            let id = path_id(&path, ProductId::from_uuid)?;
            state
                .catalog
                .update_product(&admin.principal, id, typed.into(), WriteMode::Replace)
                .await?;
            Ok(done(&format!("/admin/catalog/products/{id}"), "saved"))
        }
        .await,
    )
}

async fn delete_product(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    reply(
        async {
            let (admin, IgnoredAny) = admin_form::<IgnoredAny>(&req, &state, &body).await?;
            let id = path_id(&path, ProductId::from_uuid)?;
            state.catalog.delete_product(&admin.principal, id).await?;
            Ok(done("/admin/catalog", "deleted"))
        }
        .await,
    )
}
