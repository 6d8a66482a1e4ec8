use std::collections::HashMap;

use async_trait::async_trait;
use gatehouse_application::ports::{TaskChange, TaskRepository};
use gatehouse_domain::{Task, TaskId, TaskStatus};
use time::OffsetDateTime;

use crate::locked::Locked;

/// [`TaskRepository`] in process memory. The owner's unfinished count and the insert are
/// one step under the lock, and changes apply only to unfinished tasks.
#[derive(Default)]
pub struct InMemoryTaskRepository {
    tasks: Locked<HashMap<TaskId, Task>>,
}

impl InMemoryTaskRepository {
    /// No tasks yet.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl TaskRepository for InMemoryTaskRepository {
    async fn insert(&self, task: &Task, max_open: u32) -> anyhow::Result<bool> {
        self.tasks.with(|tasks| {
            anyhow::ensure!(!tasks.contains_key(&task.id), "a task with this id exists");
            if let Some(owner) = task.owner {
                let open = tasks
                    .values()
                    .filter(|t| t.owner == Some(owner) && !t.status.is_final())
                    .count();
                if open >= usize::try_from(max_open).unwrap_or(usize::MAX) {
                    return Ok(false);
                }
            }
            tasks.insert(task.id, task.clone());
            Ok(true)
        })?
    }

    async fn prune_finished_jobs(&self, before: OffsetDateTime, batch: u64) -> anyhow::Result<u64> {
        self.tasks.with(|tasks| {
            let doomed: Vec<TaskId> = tasks
                .values()
                .filter(|t| {
                    t.owner.is_none()
                        && t.status.is_final()
                        && t.finished_at.is_some_and(|at| at < before)
                })
                .map(|t| t.id)
                .take(usize::try_from(batch).unwrap_or(usize::MAX))
                .collect();
            for id in &doomed {
                tasks.remove(id);
            }
            doomed.len() as u64
        })
    }

    async fn find(&self, id: TaskId) -> anyhow::Result<Option<Task>> {
        self.tasks.with(|tasks| tasks.get(&id).cloned())
    }

    async fn advance(
        &self,
        id: TaskId,
        change: TaskChange,
        at: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        self.tasks.with(|tasks| {
            let Some(task) = tasks.get_mut(&id).filter(|t| !t.status.is_final()) else {
                return false;
            };
            match change {
                TaskChange::Started { attempt } => {
                    task.status = TaskStatus::Started;
                    task.attempts = attempt;
                    task.started_at.get_or_insert(at);
                }
                TaskChange::Succeeded(result) => {
                    task.status = TaskStatus::Success;
                    task.result = Some(result);
                    task.error = None;
                    task.finished_at = Some(at);
                }
                TaskChange::Retrying(error) => {
                    task.status = TaskStatus::Retry;
                    task.error = Some(error);
                }
                TaskChange::Failed(error) => {
                    task.status = TaskStatus::Failure;
                    task.error = Some(error);
                    task.finished_at = Some(at);
                }
                TaskChange::Revoked => {
                    task.status = TaskStatus::Revoked;
                    task.finished_at = Some(at);
                }
            }
            true
        })
    }
}
