//! The task table port: task records, status changes that never touch a final task, and the
//! per-owner cap on unfinished tasks checked in the same step as the insert.

use async_trait::async_trait;
use gatehouse_domain::{Task, TaskId, TaskKind, TaskStatus};
use serde_json::Value;
use time::OffsetDateTime;

use crate::shared::pagination::PageRequest;

/// Which tasks a list holds: every filter that is `Some` must match.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only tasks in this state.
    pub status: Option<TaskStatus>,
    /// Only tasks of this kind.
    pub kind: Option<TaskKind>,
}

/// A step in a task's life. Every change applies only while the task is not final, so a
/// revoked task stays revoked whatever a late worker reports.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskChange {
    /// A run began: `STARTED`, `attempts` set to `attempt`, `started_at` set once.
    Started {
        /// 1 for the first run.
        attempt: u32,
    },
    /// `SUCCESS` with this result.
    Succeeded(Value),
    /// `RETRY`: this run failed and another will follow.
    Retrying(String),
    /// `FAILURE`: the last run failed.
    Failed(String),
    /// `REVOKED` by a client.
    Revoked,
}

/// Where task records live: the status API reads them, workers write them.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait TaskRepository: Send + Sync {
    /// Stores a new task. When the task has an owner who already has `max_open` unfinished
    /// tasks, nothing is stored and the answer is `false`. The count and the insert are one
    /// atomic step: of N concurrent inserts for one owner at most `max_open` succeed. Tasks
    /// without an owner (the service's own) are not limited.
    async fn insert(&self, task: &Task, max_open: u32) -> anyhow::Result<bool>;

    /// Deletes up to `batch` of the service's own tasks (no owner) that finished before
    /// `before`; the number deleted.
    async fn prune_finished_jobs(&self, before: OffsetDateTime, batch: u64) -> anyhow::Result<u64>;

    /// The task, if it exists.
    async fn find(&self, id: TaskId) -> anyhow::Result<Option<Task>>;

    /// Applies `change` unless the task is final or unknown; `true` when it applied. A task
    /// made final no longer counts among its owner's unfinished tasks.
    async fn advance(
        &self,
        id: TaskId,
        change: TaskChange,
        at: OffsetDateTime,
    ) -> anyhow::Result<bool>;

    /// Puts a `FAILURE` task back to `PENDING` (error, result and timings cleared, attempts
    /// kept, so the next run counts on from them); `true` when it applied. Only a failed
    /// task moves, in one conditional step: two retries at once re-queue it once.
    async fn requeue_failed(&self, id: TaskId) -> anyhow::Result<bool>;

    /// Up to `request.fetch()` tasks matching `filter` (every owner's and the service's
    /// own), in walk order (see [`PageRequest`]).
    async fn page(&self, filter: &TaskFilter, request: &PageRequest) -> anyhow::Result<Vec<Task>>;

    /// How many tasks are in each state; states without tasks are left out.
    async fn count_by_status(&self) -> anyhow::Result<Vec<(TaskStatus, u64)>>;
}
