//! The OpenAPI document and the two pages that render it, Swagger UI and ReDoc. Every byte
//! they need is inside the binary: the docs work on a machine with no internet access.

use std::sync::{Arc, LazyLock};

use actix_web::http::header::{CacheControl, CacheDirective, ContentEncoding};
use actix_web::{HttpResponse, web};
use utoipa_swagger_ui::Config;

use crate::ApiError;
use crate::openapi;

const SCHEMA_PATH: &str = "/api/schema";
const SWAGGER_PATH: &str = "/api/docs";
const REDOC_PATH: &str = "/api/redoc";
const REDOC_SCRIPT: &[u8] = include_bytes!("../../assets/redoc/redoc.standalone.js");
const REDOC_LICENSE: &[u8] = include_bytes!("../../assets/redoc/redoc.standalone.js.LICENSE.txt");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(SCHEMA_PATH).route(web::get().to(schema)))
        .service(web::resource(SWAGGER_PATH).route(web::get().to(swagger_index)))
        .service(web::resource("/api/docs/{file:.*}").route(web::get().to(swagger_file)))
        .service(web::resource(REDOC_PATH).route(web::get().to(redoc_page)))
        .service(web::resource("/api/redoc/redoc.standalone.js").route(web::get().to(redoc_script)))
        .service(
            web::resource("/api/redoc/redoc.standalone.js.LICENSE.txt")
                .route(web::get().to(redoc_license)),
        );
}

/// The OpenAPI 3 document, generated from the handlers' annotations.
async fn schema() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(openapi::json())
}

static SWAGGER_CONFIG: LazyLock<Arc<Config<'static>>> =
    LazyLock::new(|| Arc::new(Config::from(SCHEMA_PATH)));

/// Swagger UI's page. Its assets are linked relatively (`./swagger-ui.css`), so the page
/// names its own folder as the base: `/api/docs` then works as well as `/api/docs/`.
async fn swagger_index() -> Result<HttpResponse, ApiError> {
    let page = swagger_asset("index.html")?;
    let html = String::from_utf8_lossy(&page.bytes).replacen(
        "<head>",
        &format!("<head>\n    <base href=\"{SWAGGER_PATH}/\">"),
        1,
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(cacheable())
        .body(html))
}

async fn swagger_file(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let file = file.into_inner();
    if file.is_empty() || file == "index.html" {
        return swagger_index().await;
    }
    let asset = swagger_asset(&file)?;
    let mut response = HttpResponse::Ok();
    if asset.gzpipped {
        response.insert_header(ContentEncoding::Gzip);
    }
    Ok(response
        .content_type(asset.content_type)
        .insert_header(cacheable())
        .body(asset.bytes.into_owned()))
}

/// One file of the vendored Swagger UI; an unknown name is a 404.
fn swagger_asset(file: &str) -> Result<utoipa_swagger_ui::SwaggerFile<'static>, ApiError> {
    match utoipa_swagger_ui::serve(file, SWAGGER_CONFIG.clone()) {
        Ok(Some(asset)) => Ok(asset),
        Ok(None) => Err(ApiError::not_found()),
        Err(error) => {
            tracing::error!(error = %error, file, "cannot render a Swagger UI file");
            Err(ApiError::internal())
        }
    }
}

/// ReDoc's page: the standalone bundle, served from here, reads the schema.
async fn redoc_page() -> HttpResponse {
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Gatehouse API</title>
    <style>body {{ margin: 0; padding: 0; }}</style>
  </head>
  <body>
    <redoc spec-url="{SCHEMA_PATH}"></redoc>
    <script src="{REDOC_PATH}/redoc.standalone.js"></script>
  </body>
</html>
"#
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(cacheable())
        .body(html)
}

async fn redoc_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(cacheable())
        .body(REDOC_SCRIPT)
}

async fn redoc_license() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(cacheable())
        .body(REDOC_LICENSE)
}

/// The docs change only with the binary; an hour of caching spares a megabyte per visit.
fn cacheable() -> CacheControl {
    CacheControl(vec![CacheDirective::Public, CacheDirective::MaxAge(3600)])
}
