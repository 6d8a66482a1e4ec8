//! Routes, by area.

mod auth;
mod catalog;
mod docs;
mod health;
mod records;
mod sessions;
mod tasks;
mod uploads;
mod users;

use actix_web::web;

use crate::ApiError;

pub(crate) use auth::{
    __path_forgot_password, __path_login, __path_logout, __path_logout_all, __path_refresh,
    __path_register, __path_resend_verification, __path_reset_password, __path_verify_email,
};
pub(crate) use catalog::{
    __path_create_category, __path_create_product, __path_delete_category, __path_delete_product,
    __path_list_categories, __path_list_products, __path_patch_category, __path_patch_product,
    __path_replace_category, __path_replace_product, __path_show_category, __path_show_product,
};
pub(crate) use health::{__path_health, __path_live, __path_metrics, __path_ready};
pub(crate) use records::{__path_audit_events, __path_avatar, __path_pre_register};
pub(crate) use sessions::{__path_create, __path_current, __path_delete};
pub(crate) use tasks::{
    __path_create as __path_create_task, __path_revoke as __path_revoke_task,
    __path_show as __path_show_task,
};
pub(crate) use users::{
    __path_adjust_credits, __path_change_password, __path_create as __path_create_user,
    __path_deactivate, __path_devices, __path_get, __path_list, __path_lookup, __path_me,
    __path_my_credits, __path_revoke_device, __path_set_avatar, __path_update, __path_update_me,
};

/// Mounts every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    docs::configure(cfg);
    records::configure_media(cfg);
    cfg.service(
        web::scope("/api/v1")
            .configure(auth::configure)
            .configure(sessions::configure)
            .configure(users::configure)
            .configure(records::configure)
            .configure(tasks::configure)
            .configure(catalog::configure),
    );
}

pub use health::configure_process;

/// Anything no route matched.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::not_found())
}
