//! Pre-registrations: addresses waiting for sign-up to open.

pub mod dto;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use utoipa::OpenApi;

use self::dto::PreRegistrationRequest;
use crate::client::Client;
use crate::error::ErrorBody;
use crate::extract::JsonObject;
use crate::routes::recovery::dto::AcceptedResponse;
use crate::{ApiError, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/pre-registrations").route(web::post().to(pre_register)));
}

#[derive(OpenApi)]
#[openapi(paths(pre_register))]
pub struct Api;

/// Leave an email to hear when sign-up opens. Idempotent: always 202, whether the address
/// was new or not.
#[utoipa::path(post, path = "/api/v1/pre-registrations", tag = "users", request_body = PreRegistrationRequest,
    responses(
        (status = 202, description = "Stored (or already there)", body = AcceptedResponse),
        (status = 400, description = "Not an email address", body = ErrorBody),
        (status = 429, description = "Too many from this address", body = ErrorBody),
    ))]
pub async fn pre_register(
    state: web::Data<AppState>,
    client: Client,
    body: JsonObject<PreRegistrationRequest>,
) -> Result<HttpResponse, ApiError> {
    state.pre_registrations.add(&body.email, &client.0).await?;
    Ok(HttpResponse::build(StatusCode::ACCEPTED).json(AcceptedResponse::ACCEPTED))
}
