use async_trait::async_trait;
use gatehouse_domain::TaskId;

/// The durable queue between the request path and the workers. A job is only a task id: the
/// arguments and the status live in the task record, so the queue never holds a secret and
/// the status API never depends on the queue's storage.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Queues `task` for a worker (delivered at least once).
    async fn enqueue(&self, task: TaskId) -> anyhow::Result<()>;
}
