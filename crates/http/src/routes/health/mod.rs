//! Probes and metrics.

pub mod dto;

use actix_web::{HttpRequest, HttpResponse, web};
use gatehouse_application::AppError;
use secrecy::ExposeSecret;
use serde_json::{Map, json};
use subtle::ConstantTimeEq;
use utoipa::OpenApi;

use self::dto::{CheckStatus, HealthResponse};
use crate::error::ErrorBody;
use crate::extract::bearer_token;
use crate::{ApiError, AppState, MetricsEndpoint};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health").route(web::get().to(health)))
        .service(web::resource("/health/ready").route(web::get().to(ready)));
    configure_process(cfg);
}

#[derive(OpenApi)]
#[openapi(paths(health, live, ready, metrics))]
pub struct Api;

/// What every Gatehouse process answers, a job worker included: liveness and metrics.
/// `/metrics` reads `web::Data<MetricsEndpoint>`.
pub fn configure_process(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health/live").route(web::get().to(live)))
        .service(web::resource("/metrics").route(web::get().to(metrics)));
}

/// Every dependency's state; 503 naming the failed ones when any is down.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses(
        (status = 200, description = "All dependencies answer", body = HealthResponse),
        (status = 503, description = "A dependency is down; body also has `status` and `checks`", body = ErrorBody),
    ))]
pub async fn health(state: web::Data<AppState>) -> Result<web::Json<HealthResponse>, ApiError> {
    let report = state.health.check().await;
    let checks = report
        .checks
        .iter()
        .map(|(name, up)| {
            (
                *name,
                CheckStatus {
                    status: if *up { "ok" } else { "unavailable" },
                },
            )
        })
        .collect();
    if report.is_healthy() {
        return Ok(web::Json(HealthResponse {
            status: "ok",
            checks,
        }));
    }
    let down: Vec<_> = report
        .checks
        .iter()
        .filter(|(_, up)| !up)
        .map(|(name, _)| *name)
        .collect();
    let mut extra = Map::new();
    extra.insert("status".into(), json!("unhealthy"));
    extra.insert("checks".into(), json!(checks));
    Err(ApiError::unavailable(&format!("unavailable: {}", down.join(", "))).with_extra(extra))
}

/// The process is up and serving.
#[utoipa::path(get, path = "/health/live", tag = "operations",
    responses((status = 200, description = "Alive", body = HealthResponse)))]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok", "checks": {}}))
}

/// Ready for traffic: every dependency answers.
#[utoipa::path(get, path = "/health/ready", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = HealthResponse),
        (status = 503, description = "Not ready", body = ErrorBody),
    ))]
pub async fn ready(state: web::Data<AppState>) -> Result<web::Json<HealthResponse>, ApiError> {
    health(state).await
}

/// Prometheus text exposition: requests by route and status, latencies, logins, refreshes,
/// rate-limit rejections, database pool use, job counters, build info. When the operator set
/// `GATEHOUSE_METRICS_TOKEN`, only a scraper presenting it as a bearer token gets it.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain", body = String),
        (status = 401, description = "A metrics token is configured and was not presented", body = ErrorBody),
    ))]
pub async fn metrics(
    endpoint: web::Data<MetricsEndpoint>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if let Some(expected) = &endpoint.token {
        // Read as every authenticated endpoint reads a bearer token; any unusable header is
        // simply not the token.
        let presented = bearer_token(&req).ok().flatten().unwrap_or_default();
        // Constant time: the comparison must not tell a guesser how much of it was right.
        let matches: bool = presented
            .as_bytes()
            .ct_eq(expected.expose_secret().as_bytes())
            .into();
        if !matches {
            return Err(AppError::NotAuthenticated.into());
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(endpoint.exposition.render()))
}
