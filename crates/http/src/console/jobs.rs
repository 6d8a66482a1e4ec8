//! `/admin/jobs`: what Flower shows for Celery. Counts by state, the list with filters, and
//! a job's page with its arguments, attempts, error and timings, where a failed job can be
//! retried and a waiting one revoked.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use gatehouse_application::JobQuery;
use gatehouse_domain::{TaskId, TaskKind};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::pages::{JobDetail, JobPage, JobRow, JobsPage};
use super::view::Pager;
use super::{Confirmation, Reply, admin, admin_form, done, page, path_id, reply};
use crate::{ApiError, AppState};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/jobs").route(web::get().to(list)))
        .service(web::resource("/admin/jobs/{id}").route(web::get().to(show)))
        .service(web::resource("/admin/jobs/{id}/{action}").route(web::post().to(act)));
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
    cursor: Option<String>,
}

async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    reply(jobs(&req, &state, &query).await)
}

async fn jobs(req: &HttpRequest, state: &AppState, query: &ListQuery) -> Reply {
    let admin = admin(req, state).await?;
    let counts = state.jobs.counts(&admin.principal).await?;
    let found = state
        .jobs
        .list(
            &admin.principal,
            JobQuery {
                status: Some(query.status.clone()),
                kind: Some(query.kind.clone()),
                limit: Some(50),
                cursor: query.cursor.clone(),
            },
        )
        .await?;
    let filters = [
        ("status", query.status.as_str()),
        ("kind", query.kind.as_str()),
    ];
    let listing = JobsPage {
        chrome: admin.chrome(None),
        statuses: counts
            .iter()
            .map(|(status, _)| (status.as_str(), status.as_str() == query.status))
            .collect(),
        counts: counts
            .iter()
            .map(|(status, count)| (status.as_str(), *count))
            .collect(),
        kinds: TaskKind::ALL
            .iter()
            .map(|kind| (kind.as_str(), kind.as_str() == query.kind))
            .collect(),
        status_chosen: !query.status.is_empty(),
        kind_chosen: !query.kind.is_empty(),
        rows: found.items.iter().map(JobRow::of).collect(),
        pager: Pager::new(
            "/admin/jobs",
            &filters,
            found.previous.as_deref(),
            found.next.as_deref(),
        ),
    };
    Ok(page(StatusCode::OK, &listing)?)
}

async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<Confirmation>,
) -> HttpResponse {
    reply(
        async {
            let admin = admin(&req, &state).await?;
            let task = state
                .jobs
                .get(&admin.principal, path_id(&path, TaskId::from_uuid)?)
                .await?;
            let detail = JobPage {
                chrome: admin.chrome(query.done.as_deref()),
                job: JobDetail::of(&task),
            };
            Ok(page(StatusCode::OK, &detail)?)
        }
        .await,
    )
}

/// Retry and Revoke.
async fn act(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    reply(
        async {
            let (admin, IgnoredAny) = admin_form::<IgnoredAny>(&req, &state, &body).await?;
            let (raw_id, action) = path.into_inner();
            let id = path_id(&raw_id, TaskId::from_uuid)?;
            let confirmation = match action.as_str() {
                "retry" => {
                    state.jobs.retry(&admin.principal, id).await?;
                    "retried"
                }
                "revoke" => {
                    state.jobs.revoke(&admin.principal, id).await?;
                    "revoked"
                }
                _ => return Err(ApiError::not_found().into()),
            };
            Ok(done(&format!("/admin/jobs/{id}"), confirmation))
        }
        .await,
    )
}
