//! `/admin/pre-registrations` (with the CSV export) and `/admin/audit` (filtered by type,
//! user and dates).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use gatehouse_application::{AppError, AuditQuery};
use gatehouse_domain::AuditEventType;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::pages::{AuditPage, AuditRow, PreRegistrationsPage};
use super::view::{Pager, when};
use super::{Reply, admin, admin_form, page, reply};
use crate::AppState;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/pre-registrations").route(web::get().to(pre_registrations)))
        .service(web::resource("/admin/pre-registrations/export").route(web::post().to(export)))
        .service(web::resource("/admin/audit").route(web::get().to(audit)));
}

#[derive(Deserialize)]
struct Cursor {
    cursor: Option<String>,
}

async fn pre_registrations(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<Cursor>,
) -> HttpResponse {
    reply(
        async {
            let admin = admin(&req, &state).await?;
            let listed = state
                .pre_registrations
                .list(&admin.principal, Some(100), query.cursor.as_deref())
                .await?;
            let listing = PreRegistrationsPage {
                chrome: admin.chrome(None),
                rows: listed
                    .items
                    .iter()
                    .map(|entry| (entry.email.clone(), when(entry.created_at)))
                    .collect(),
                next: listed.next.map(|cursor| {
                    format!(
                        "/admin/pre-registrations{}",
                        super::view::query(&[("cursor", &cursor)])
                    )
                }),
            };
            Ok(page(StatusCode::OK, &listing)?)
        }
        .await,
    )
}

/// The whole list as a CSV download (a form post: it is audited, so it carries the CSRF
/// token like every other action).
async fn export(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    reply(
        async {
            let (admin, IgnoredAny) = admin_form::<IgnoredAny>(&req, &state, &body).await?;
            let csv = state.pre_registrations.export_csv(&admin.principal).await?;
            Ok(HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"pre-registrations.csv\"",
                ))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body(csv))
        }
        .await,
    )
}

/// The audit log's filters as the form sends them; `user` is an id or an email.
#[derive(Deserialize)]
struct AuditFilters {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    cursor: Option<String>,
}

async fn audit(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<AuditFilters>,
) -> HttpResponse {
    reply(audit_page(&req, &state, &query).await)
}

async fn audit_page(req: &HttpRequest, state: &AppState, query: &AuditFilters) -> Reply {
    let admin = admin(req, state).await?;
    let user = query.user.trim();
    // People type addresses; the log is keyed by id.
    let user_id = if user.contains('@') {
        match state.admin.lookup(&admin.principal, user).await {
            Ok(found) => Some(found.id.to_string()),
            Err(AppError::NotFound(_)) => {
                let mut errors = gatehouse_application::ValidationErrors::new();
                errors.add("user", "no account has this email");
                return Err(AppError::Validation(errors).into());
            }
            Err(other) => return Err(other.into()),
        }
    } else {
        Some(user.to_owned()).filter(|u| !u.is_empty())
    };
    let events = state
        .audit
        .list(
            &admin.principal,
            AuditQuery {
                user_id,
                kind: Some(query.kind.clone()).filter(|k| !k.trim().is_empty()),
                from: Some(query.from.clone()),
                to: Some(query.to.clone()),
                limit: Some(50),
                cursor: query.cursor.clone(),
            },
        )
        .await?;
    let filters = [
        ("type", query.kind.as_str()),
        ("user", query.user.as_str()),
        ("from", query.from.as_str()),
        ("to", query.to.as_str()),
    ];
    let log = AuditPage {
        chrome: admin.chrome(None),
        types: AuditEventType::ALL
            .iter()
            .map(|kind| (kind.as_str(), kind.as_str() == query.kind))
            .collect(),
        any_type: query.kind.is_empty(),
        user: &query.user,
        from: &query.from,
        to: &query.to,
        trail: events.items.iter().map(AuditRow::of).collect(),
        pager: Pager::new(
            "/admin/audit",
            &filters,
            events.previous.as_deref(),
            events.next.as_deref(),
        ),
    };
    Ok(page(StatusCode::OK, &log)?)
}
