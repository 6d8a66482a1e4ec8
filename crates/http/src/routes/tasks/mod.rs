//! Background tasks: queue one, watch it, revoke it.

pub mod dto;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use gatehouse_domain::TaskId;
use utoipa::OpenApi;

use self::dto::{TaskCreated, TaskRequest, TaskResponse};
use crate::error::ErrorBody;
use crate::extract::{Authenticated, JsonObject, path_uuid};
use crate::{ApiError, AppState, MAX_BODY_BYTES, error};

pub fn configure(cfg: &mut web::ServiceConfig) {
    // A `process_data` payload may be 1 MiB of JSON on its own; the envelope needs room too,
    // so an oversized payload gets the domain's 400 rather than a bare 413.
    let json = web::JsonConfig::default()
        .limit(2 * MAX_BODY_BYTES)
        .error_handler(error::json_error);
    cfg.service(
        web::resource("/api/v1/tasks")
            .app_data(json)
            .app_data(web::PayloadConfig::default().limit(2 * MAX_BODY_BYTES))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/api/v1/tasks/{id}")
            .route(web::get().to(show))
            .route(web::delete().to(revoke)),
    );
}

#[derive(OpenApi)]
#[openapi(paths(create, show, revoke))]
pub struct Api;

/// Queue a task. It belongs to the caller, who may have `GATEHOUSE_TASKS_MAX_OPEN` (20)
/// unfinished tasks and create `GATEHOUSE_TASKS_PER_HOUR` (60) an hour.
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", request_body = TaskRequest,
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 202, description = "Queued", body = TaskCreated),
        (status = 400, description = "Unknown type or bad arguments", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 429, description = "Too many unfinished tasks, or created this hour (`Retry-After`)", body = ErrorBody),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    user: Authenticated,
    body: JsonObject<TaskRequest>,
) -> Result<HttpResponse, ApiError> {
    let task = state
        .tasks
        .submit(&user.0, body.into_inner().try_into()?)
        .await?;
    Ok(HttpResponse::build(StatusCode::ACCEPTED).json(TaskCreated {
        id: task.id.as_uuid(),
        status: task.status.as_str(),
    }))
}

/// A task: its owner and admins see it; to anyone else it does not exist.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks",
    security(("bearer" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Task id")),
    responses(
        (status = 200, description = "The task", body = TaskResponse),
        (status = 400, description = "Not a UUID", body = ErrorBody),
        (status = 404, description = "No such task (or not yours)", body = ErrorBody),
    ))]
pub async fn show(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<String>,
) -> Result<web::Json<TaskResponse>, ApiError> {
    let id = TaskId::from_uuid(path_uuid(&id)?);
    Ok(web::Json(state.tasks.get(&user.0, id).await?.into()))
}

/// Revoke a task: one that has not finished becomes `REVOKED` (a running `long_running`
/// task stops at its next step); a finished one is returned as it is.
#[utoipa::path(delete, path = "/api/v1/tasks/{id}", tag = "tasks",
    security(("bearer" = []), ("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Task id")),
    responses(
        (status = 200, description = "The task after revocation", body = TaskResponse),
        (status = 400, description = "Not a UUID", body = ErrorBody),
        (status = 404, description = "No such task (or not yours)", body = ErrorBody),
    ))]
pub async fn revoke(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<String>,
) -> Result<web::Json<TaskResponse>, ApiError> {
    let id = TaskId::from_uuid(path_uuid(&id)?);
    Ok(web::Json(state.tasks.revoke(&user.0, id).await?.into()))
}
