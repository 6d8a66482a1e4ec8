use actix_web::{HttpResponse, web};
use utoipa::OpenApi;

use crate::openapi::ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/schema").route(web::get().to(schema)));
}

/// The OpenAPI 3 document, generated from the handlers' annotations.
async fn schema() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
