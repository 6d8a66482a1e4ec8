//! Routes, by area.

mod auth;
mod health;
mod schema;
mod sessions;
mod users;

use actix_web::web;

use crate::ApiError;

pub(crate) use auth::{
    __path_login, __path_logout, __path_logout_all, __path_refresh, __path_register,
};
pub(crate) use health::{__path_health, __path_live, __path_ready};
pub(crate) use sessions::{__path_create, __path_current, __path_delete};
pub(crate) use users::{__path_devices, __path_me, __path_revoke_device};

/// Mounts every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    schema::configure(cfg);
    cfg.service(
        web::scope("/api/v1")
            .configure(auth::configure)
            .configure(sessions::configure)
            .configure(users::configure),
    );
}

/// Anything no route matched.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::not_found())
}
