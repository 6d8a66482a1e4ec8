//! The devices the caller signed in from.

pub mod dto;

use actix_web::{HttpResponse, web};
use gatehouse_domain::DeviceId;
use utoipa::OpenApi;

use self::dto::DeviceList;
use crate::error::ErrorBody;
use crate::extract::{Authenticated, path_uuid};
use crate::middleware::no_content;
use crate::{ApiError, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/users/me/devices").route(web::get().to(devices)))
        .service(
            web::resource("/api/v1/users/me/devices/{id}").route(web::delete().to(revoke_device)),
        );
}

#[derive(OpenApi)]
#[openapi(paths(devices, revoke_device))]
pub struct Api;

/// The devices the caller signed in from, most recently seen first.
#[utoipa::path(get, path = "/api/v1/users/me/devices", tag = "users", security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The devices", body = DeviceList),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub async fn devices(
    state: web::Data<AppState>,
    user: Authenticated,
) -> Result<web::Json<DeviceList>, ApiError> {
    let views = state.devices.list(&user.0).await?;
    Ok(web::Json(DeviceList {
        results: views.into_iter().map(Into::into).collect(),
    }))
}

/// Forget a device and end its sessions, refresh tokens and live access tokens.
#[utoipa::path(delete, path = "/api/v1/users/me/devices/{id}", tag = "users", security(("bearer" = []), ("session" = [])),
    params(("id" = Uuid, Path, description = "Device id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "Not a UUID", body = ErrorBody),
        (status = 404, description = "No such device of the caller", body = ErrorBody),
    ))]
pub async fn revoke_device(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = DeviceId::from_uuid(path_uuid(&id)?);
    state.devices.revoke(&user.0, id).await?;
    Ok(no_content())
}
