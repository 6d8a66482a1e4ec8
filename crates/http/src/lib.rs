//! Gatehouse over HTTP (actix-web): routes, DTOs, the authenticated-user extractor, the one
//! error-to-HTTP mapping, middleware (request id, security headers, error envelope), health
//! and the generated OpenAPI document.

mod client;
mod dto;
mod error;
mod extract;
mod middleware;
pub mod openapi;
mod routes;
mod session_cookies;
mod state;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, web};

pub use error::ApiError;
pub use state::{AppState, WebSettings};

/// Largest request body accepted, JSON or otherwise.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The whole HTTP application over `state`. Build one per worker inside `HttpServer::new`.
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(state))
        .app_data(
            web::JsonConfig::default()
                .limit(MAX_BODY_BYTES)
                .error_handler(error::json_error),
        )
        .app_data(web::PayloadConfig::default().limit(MAX_BODY_BYTES))
        .app_data(web::QueryConfig::default().error_handler(error::query_error))
        .app_data(web::PathConfig::default().error_handler(error::path_error))
        .configure(routes::configure)
        .default_service(web::to(routes::not_found))
        .wrap(from_fn(middleware::error_envelope))
        .wrap(
            DefaultHeaders::new()
                .add(("X-Content-Type-Options", "nosniff"))
                .add(("X-Frame-Options", "DENY"))
                .add(("Referrer-Policy", "no-referrer"))
                .add(("Cache-Control", "no-store")),
        )
        .wrap(from_fn(middleware::request_id))
}
