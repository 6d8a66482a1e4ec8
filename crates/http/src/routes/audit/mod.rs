//! The audit log (admins).

pub mod dto;

use actix_web::web;
use utoipa::OpenApi;

use self::dto::{AuditEventResponse, AuditListQuery};
use crate::error::ErrorBody;
use crate::extract::Authenticated;
use crate::pagination::Page;
use crate::{ApiError, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/audit-events").route(web::get().to(audit_events)));
}

#[derive(OpenApi)]
#[openapi(paths(audit_events))]
pub struct Api;

/// The audit log, newest first (admins only), filtered by `user_id` and `type`.
#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit", security(("bearer" = []), ("session" = [])),
    params(AuditListQuery),
    responses(
        (status = 200, description = "One page", body = Page<AuditEventResponse>),
        (status = 400, description = "Bad filter, limit or cursor", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
pub async fn audit_events(
    state: web::Data<AppState>,
    user: Authenticated,
    query: web::Query<AuditListQuery>,
) -> Result<web::Json<Page<AuditEventResponse>>, ApiError> {
    let page = state.audit.list(&user.0, query.into_inner().into()).await?;
    Ok(web::Json(Page::from_page(page, Into::into)))
}
