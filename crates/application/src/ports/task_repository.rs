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
    /// Stores a new task.
    async fn insert(&self, task: &Task) -> anyhow::Result<()>;

    /// The task, if it exists.
    async fn find(&self, id: TaskId) -> anyhow::Result<Option<Task>>;

    /// Applies `change` unless the task is final or unknown; `true` when it applied.
    async fn advance(
        &self,
        id: TaskId,
        change: TaskChange,
        at: OffsetDateTime,
    ) -> anyhow::Result<bool>;
}
