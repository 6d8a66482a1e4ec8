//! Pre-registrations, the audit log and uploaded media.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use gatehouse_application::AuditQuery;

use crate::client::client_info;
use crate::dto::{AcceptedResponse, AuditListQuery, AuditPage, PreRegistrationRequest};
use crate::error::ErrorBody;
use crate::extract::Authenticated;
use crate::{ApiError, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/pre-registrations").route(web::post().to(pre_register)))
        .service(web::resource("/audit-events").route(web::get().to(audit_events)));
}

/// Uploaded media, outside `/api/v1`.
pub fn configure_media(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/media/avatars/{file}").route(web::get().to(avatar)));
}

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
    req: HttpRequest,
    body: web::Json<PreRegistrationRequest>,
) -> Result<HttpResponse, ApiError> {
    let client = client_info(&req, &state.web);
    state.pre_registrations.add(&body.email, &client).await?;
    Ok(HttpResponse::build(StatusCode::ACCEPTED).json(AcceptedResponse { status: "accepted" }))
}

/// The audit log, newest first (admins only), filtered by `user_id` and `type`.
#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit", security(("bearer" = []), ("session" = [])),
    params(AuditListQuery),
    responses(
        (status = 200, description = "One page", body = AuditPage),
        (status = 400, description = "Bad filter, limit or cursor", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
pub async fn audit_events(
    state: web::Data<AppState>,
    user: Authenticated,
    query: web::Query<AuditListQuery>,
) -> Result<web::Json<AuditPage>, ApiError> {
    let query = query.into_inner();
    let query = AuditQuery {
        user_id: query.user_id,
        kind: query.kind,
        limit: query.limit,
        cursor: query.cursor,
    };
    let page = state.audit.list(&user.0, query).await?;
    Ok(web::Json(AuditPage {
        results: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next,
        previous_cursor: page.previous,
    }))
}

/// A stored avatar. Served with its detected type, a strict CSP and a long cache life (its
/// URL changes with every upload).
#[utoipa::path(get, path = "/media/avatars/{file}", tag = "users",
    params(("file" = String, Path, description = "`<user id>.<png|jpg|webp>`")),
    responses(
        (status = 200, description = "The image"),
        (status = 404, description = "No such file", body = ErrorBody),
    ))]
pub async fn avatar(
    state: web::Data<AppState>,
    file: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let stored = state.profiles.avatar_file(&file).await?;
    Ok(HttpResponse::Ok()
        .content_type(stored.content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'"))
        .body(stored.bytes))
}
