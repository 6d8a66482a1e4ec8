use async_trait::async_trait;
use gatehouse_domain::{Task, TaskId};
use serde_json::Value;
use time::OffsetDateTime;

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
    /// Stores a new task. A task with an owner counts as one of the owner's unfinished tasks
    /// until it is final; when the owner already has `max_open` of them nothing is stored
    /// and the answer is `false`. The count and the insert are one atomic step: of N
    /// concurrent inserts at most `max_open` succeed. Tasks without an owner are not counted.
    async fn insert(&self, task: &Task, max_open: u32) -> anyhow::Result<bool>;

    /// The task, if it exists.
    async fn find(&self, id: TaskId) -> anyhow::Result<Option<Task>>;

    /// Applies `change` unless the task is final or unknown; `true` when it applied. A
    /// change that makes an owned task final frees its place among the owner's unfinished
    /// tasks in the same step.
    async fn advance(
        &self,
        id: TaskId,
        change: TaskChange,
        at: OffsetDateTime,
    ) -> anyhow::Result<bool>;
}
