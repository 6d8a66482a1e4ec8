use std::collections::HashMap;

use async_trait::async_trait;
use gatehouse_application::pagination::PageRequest;
use gatehouse_application::ports::{TaskChange, TaskFilter, TaskRepository};
use gatehouse_domain::{Task, TaskId, TaskStatus};
use time::OffsetDateTime;

use crate::keyset;
use crate::locked::Locked;

/// [`TaskRepository`] in process memory. The owner's unfinished count and the insert are
/// one step under the lock, changes apply only to unfinished tasks, and a re-queue only to a
/// failed one.
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

    async fn requeue_failed(&self, id: TaskId) -> anyhow::Result<bool> {
        self.tasks.with(|tasks| {
            let Some(task) = tasks
                .get_mut(&id)
                .filter(|t| t.status == TaskStatus::Failure)
            else {
                return false;
            };
            task.status = TaskStatus::Pending;
            task.error = None;
            task.result = None;
            task.started_at = None;
            task.finished_at = None;
            true
        })
    }

    async fn page(&self, filter: &TaskFilter, request: &PageRequest) -> anyhow::Result<Vec<Task>> {
        self.tasks.with(|tasks| {
            let matching = tasks.values().filter(|t| {
                filter.status.is_none_or(|status| t.status == status)
                    && filter.kind.is_none_or(|kind| t.kind == kind)
            });
            keyset::page(
                matching.cloned(),
                |t| (t.created_at, t.id.as_uuid()),
                request,
            )
        })
    }

    async fn count_by_status(&self) -> anyhow::Result<Vec<(TaskStatus, u64)>> {
        self.tasks.with(|tasks| {
            let mut counts: HashMap<TaskStatus, u64> = HashMap::new();
            for task in tasks.values() {
                *counts.entry(task.status).or_default() += 1;
            }
            let mut counts: Vec<(TaskStatus, u64)> = counts.into_iter().collect();
            // In the order of their names, as every adapter lists them.
            counts.sort_by_key(|(status, _)| status.as_str());
            counts
        })
    }
}
