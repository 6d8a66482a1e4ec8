//! Task bodies.

use gatehouse_domain::NewTask;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ApiError;
use crate::constraints;

/// `POST /tasks`: one of the task types, tagged by `type`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskRequest {
    /// Adds `x` and `y`; the result is the sum.
    Add { x: f64, y: f64 },
    /// Sleeps `seconds` (1..3600) in one-second steps, stopping early when revoked; the
    /// result is `{"slept_seconds": n}`.
    LongRunning {
        #[schema(schema_with = constraints::task_seconds)]
        #[serde(deserialize_with = "crate::numbers::integral")]
        seconds: u64,
    },
    /// Summarises `data` (any JSON, at most 1 MiB): `{"counts": {type: n}, "depth": n,
    /// "keys": [sorted top-level keys] | null}`.
    ProcessData {
        /// Any JSON value.
        data: serde_json::Value,
    },
}

/// `202 Accepted` for a new task.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskCreated {
    pub id: Uuid,
    #[schema(example = "PENDING")]
    pub status: &'static str,
}

/// A task and how it went.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskResponse {
    pub id: Uuid,
    #[serde(rename = "type")]
    #[schema(example = "add")]
    pub kind: String,
    /// PENDING, STARTED, SUCCESS, FAILURE, RETRY or REVOKED.
    #[schema(example = "SUCCESS")]
    pub status: &'static str,
    /// Any JSON value; `null` until the task succeeds.
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<OffsetDateTime>,
    pub attempts: u32,
}

impl From<gatehouse_domain::Task> for TaskResponse {
    fn from(task: gatehouse_domain::Task) -> Self {
        Self {
            id: task.id.as_uuid(),
            kind: task.kind.to_string(),
            status: task.status.as_str(),
            result: task.result,
            error: task.error,
            created_at: task.created_at,
            started_at: task.started_at,
            finished_at: task.finished_at,
            attempts: task.attempts,
        }
    }
}

impl TryFrom<TaskRequest> for NewTask {
    type Error = ApiError;

    fn try_from(body: TaskRequest) -> Result<Self, ApiError> {
        match body {
            TaskRequest::Add { x, y } => NewTask::add(x, y),
            TaskRequest::LongRunning { seconds } => NewTask::long_running(seconds),
            TaskRequest::ProcessData { data } => NewTask::process_data(data),
        }
        .map_err(|e| gatehouse_application::AppError::from(e).into())
    }
}
