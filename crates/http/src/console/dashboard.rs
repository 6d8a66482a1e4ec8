//! `/admin/`: how many users, sign-ins and jobs, and the health of each dependency.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::pages::Dashboard;
use super::{Reply, admin, page, reply};
use crate::AppState;

pub(super) async fn show(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    reply(dashboard(&req, &state).await)
}

async fn dashboard(req: &HttpRequest, state: &AppState) -> Reply {
    let admin = admin(req, state).await?;
    let principal = &admin.principal;
    let users = state.admin.counts(principal).await?;
    let sign_ins = state.audit.sign_ins_today(principal).await?;
    let jobs = state.jobs.counts(principal).await?;
    let report = state.health.check().await;
    let dashboard = Dashboard {
        chrome: admin.chrome(None),
        users,
        sign_ins,
        jobs: jobs
            .into_iter()
            .map(|(status, count)| (status.as_str(), count))
            .collect(),
        checks: report.checks,
    };
    Ok(page(StatusCode::OK, &dashboard)?)
}
