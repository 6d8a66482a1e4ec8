//! Gatehouse over HTTP (actix-web): routes, DTOs, the authenticated-user extractor, the one
//! error-to-HTTP mapping, middleware (request id, security headers, error envelope), health
//! and metrics, and the generated OpenAPI document with its Swagger UI and ReDoc pages.

mod client;
mod console;
mod constraints;
mod error;
mod extract;
mod middleware;
mod numbers;
pub mod openapi;
mod pagination;
mod routes;
mod session_cookies;
mod state;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, web};

pub use error::ApiError;
pub use middleware::describe_metrics;
pub use state::{AppState, JwksEndpoint, MetricsEndpoint, MetricsExposition, WebSettings};

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
    let cors = cors(&state.web);
    App::new()
        .app_data(web::Data::new(state.metrics.clone()))
        .app_data(web::Data::new(state))
        .app_data(
            web::JsonConfig::default()
                .limit(MAX_BODY_BYTES)
                .error_handler(error::json_error),
        )
        .app_data(web::PayloadConfig::default().limit(MAX_BODY_BYTES))
        .app_data(web::QueryConfig::default().error_handler(error::query_error))
        .app_data(web::PathConfig::default().error_handler(error::path_error))
        .configure(console::configure)
        .configure(routes::configure)
        .default_service(web::to(routes::not_found))
        .wrap(cors)
        .wrap(from_fn(middleware::error_envelope))
        .wrap(
            DefaultHeaders::new()
                .add(("X-Content-Type-Options", "nosniff"))
                .add(("X-Frame-Options", "DENY"))
                .add(("Referrer-Policy", "no-referrer"))
                .add(("Cache-Control", "no-store")),
        )
        .wrap(from_fn(middleware::record_metrics))
        .wrap(from_fn(middleware::request_id))
}

/// What a job worker serves beside its work: `/health/live` and `/metrics` (its own job
/// counters), for probes and scrapes. Every other path is a 404 in the standard body.
pub fn process_app(
    metrics: MetricsEndpoint,
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
        .app_data(web::Data::new(metrics))
        .configure(routes::configure_process)
        .default_service(web::to(routes::not_found))
        .wrap(from_fn(middleware::error_envelope))
        .wrap(from_fn(middleware::record_metrics))
        .wrap(from_fn(middleware::request_id))
}

/// CORS from the allow-list: listed origins get credentialed access; any other origin gets
/// no CORS headers at all (its browser then refuses to hand the response to the page), and
/// its preflights get no allow headers. Requests without `Origin` are not CORS and pass.
fn cors(web: &WebSettings) -> actix_cors::Cors {
    use actix_web::http::header;
    let cors = web
        .cors_origins
        .iter()
        .fold(actix_cors::Cors::default(), |cors, origin| {
            cors.allowed_origin(origin)
        });
    cors.allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("x-csrf-token"),
            header::HeaderName::from_static("x-refresh-token"),
            header::HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::HeaderName::from_static("x-request-id"),
            header::RETRY_AFTER,
        ])
        .supports_credentials()
        .block_on_origin_mismatch(false)
        .max_age(3600)
}
