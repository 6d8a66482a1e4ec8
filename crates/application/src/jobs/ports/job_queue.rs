//! The job queue port: hands task ids to workers, in separate lanes for clients' tasks and
//! the service's emails.

use async_trait::async_trait;
use gatehouse_domain::{TaskId, TaskKind};

/// Which line a job waits in. Each lane has its own worker slots, so a flood of one kind
/// never delays the other: a reset email goes out while every task slot is busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobLane {
    /// The service's own emails.
    Email,
    /// Clients' background tasks.
    Task,
}

impl JobLane {
    /// The lane a job of `kind` waits in: emails in their own, everything else with the
    /// clients' tasks.
    pub fn for_kind(kind: TaskKind) -> Self {
        match kind {
            TaskKind::SendEmail => Self::Email,
            _ => Self::Task,
        }
    }
}

/// The durable queue between the request path and the workers. A job is only a task id: the
/// arguments and the status live in the task record, so the queue never holds a secret and
/// the status API never depends on the queue's storage.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Queues `task` in `lane` for a worker (delivered at least once).
    async fn enqueue(&self, task: TaskId, lane: JobLane) -> anyhow::Result<()>;
}
