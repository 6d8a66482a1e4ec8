//! Background tasks: clients queue them and watch them (the worker side is [`super::runner`]).

use std::sync::Arc;
use std::time::Duration;

use gatehouse_domain::{NewTask, Role, Task, TaskId, TaskKind};
use serde_json::{Value, json};

use crate::accounts::users::UserService;
use crate::jobs::ports::{JobLane, JobQueue, TaskChange, TaskRepository};
use crate::limits::throttle::Throttle;
use crate::shared::context::Principal;
use crate::shared::counters;
use crate::shared::error::AppError;
use crate::shared::ports::Clock;

/// How many tasks one user may have.
#[derive(Debug, Clone, Copy)]
pub struct TaskLimits {
    /// Unfinished tasks per user (`GATEHOUSE_TASKS_MAX_OPEN`, default 20). Creations per hour
    /// are a [`Throttle`] limit.
    pub max_open: u32,
}

impl Default for TaskLimits {
    fn default() -> Self {
        Self { max_open: 20 }
    }
}

/// What a client is told to wait when all their task places are taken: tasks finish (or
/// are revoked) at their own pace, so this is a polite interval, not a promise.
const FULL_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Queues tasks and shows them to whoever may see them.
pub struct TaskService {
    tasks: Arc<dyn TaskRepository>,
    queue: Arc<dyn JobQueue>,
    accounts: Arc<UserService>,
    throttle: Arc<Throttle>,
    limits: TaskLimits,
    clock: Arc<dyn Clock>,
}

impl TaskService {
    /// Client tasks over the task table and the queue. `accounts` resolves the caller (a
    /// deactivated or revoked caller queues nothing); `throttle` and `limits` bound how many
    /// tasks one user creates and keeps open.
    pub fn new(
        tasks: Arc<dyn TaskRepository>,
        queue: Arc<dyn JobQueue>,
        accounts: Arc<UserService>,
        throttle: Arc<Throttle>,
        limits: TaskLimits,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            tasks,
            queue,
            accounts,
            throttle,
            limits,
            clock,
        }
    }

    /// Queues a client's task; it starts `PENDING`. Refused with 429 past the owner's hourly
    /// creations or unfinished tasks; a refused creation counts against neither.
    pub async fn submit(&self, principal: &Principal, task: NewTask) -> Result<Task, AppError> {
        let owner = self.accounts.me(principal).await?;
        let arguments = match &task {
            NewTask::Add { x, y } => json!({ "x": x, "y": y }),
            NewTask::LongRunning { seconds } => json!({ "seconds": seconds }),
            NewTask::ProcessData { data } => json!({ "data": data }),
        };
        let creation = self.throttle.reserve_task(owner.id).await?;
        let task = Task::queued(Some(owner.id), task.kind(), arguments, self.clock.now());
        match self.tasks.insert(&task, self.limits.max_open).await {
            Ok(true) => {}
            Ok(false) => {
                self.throttle.give_back(creation).await;
                counters::rate_limited("tasks_open");
                return Err(AppError::RateLimited {
                    retry_after: FULL_RETRY_AFTER,
                });
            }
            Err(error) => {
                self.throttle.give_back(creation).await;
                return Err(error.into());
            }
        }
        let queued = self.enqueue(task, JobLane::Task).await;
        if queued.is_err() {
            // The task is already failed (and holds no place); the creation counts for nothing.
            self.throttle.give_back(creation).await;
        }
        queued
    }

    /// Records a task of the service's own (no owner, so no quota) and hands it to the queue.
    pub(crate) async fn queue_job(
        &self,
        kind: TaskKind,
        arguments: Value,
        lane: JobLane,
    ) -> Result<Task, AppError> {
        let task = Task::queued(None, kind, arguments, self.clock.now());
        self.tasks.insert(&task, self.limits.max_open).await?;
        self.enqueue(task, lane).await
    }

    async fn enqueue(&self, task: Task, lane: JobLane) -> Result<Task, AppError> {
        hand_to_queue(&*self.queue, &*self.tasks, &*self.clock, task.id, lane).await?;
        Ok(task)
    }

    /// A task its owner or an admin may see; anyone else gets "not found".
    pub async fn get(&self, principal: &Principal, id: TaskId) -> Result<Task, AppError> {
        let viewer = self.accounts.me(principal).await?;
        match self.tasks.find(id).await? {
            Some(task) if viewer.role == Role::Admin || task.owner == Some(viewer.id) => Ok(task),
            _ => Err(AppError::NotFound("task")),
        }
    }

    /// Revokes a task that has not finished (a finished one is returned unchanged). A
    /// pending task never starts; a running `long_running` task stops at its next step.
    pub async fn revoke(&self, principal: &Principal, id: TaskId) -> Result<Task, AppError> {
        self.get(principal, id).await?;
        self.tasks
            .advance(id, TaskChange::Revoked, self.clock.now())
            .await?;
        self.tasks.find(id).await?.ok_or(AppError::NotFound("task"))
    }
}

/// Hands a recorded task to the queue. A task the queue refused is marked `FAILURE` on the
/// spot, so no record waits for a job that does not exist (its place is freed, and an admin
/// can retry it).
pub(crate) async fn hand_to_queue(
    queue: &dyn JobQueue,
    tasks: &dyn TaskRepository,
    clock: &dyn Clock,
    id: TaskId,
    lane: JobLane,
) -> Result<(), AppError> {
    if let Err(error) = queue.enqueue(id, lane).await {
        let message = "the job queue refused the task".to_owned();
        // Best effort: the queue being down may mean the database is too.
        let _ = tasks
            .advance(id, TaskChange::Failed(message), clock.now())
            .await;
        return Err(AppError::Unavailable(error));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use gatehouse_domain::Role;

    use super::*;
    use crate::jobs::ports::{MockJobQueue, MockTaskRepository};
    use crate::test_support::{
        accounts_seen_as, add_task, bearer_principal, fixed_clock, permissive_throttle,
        quiet_auditor, user,
    };

    /// A task service over these ports, for a caller who is `viewer`.
    fn over(
        tasks: MockTaskRepository,
        queue: MockJobQueue,
        throttle: Arc<Throttle>,
        viewer: gatehouse_domain::User,
    ) -> TaskService {
        TaskService::new(
            Arc::new(tasks),
            Arc::new(queue),
            accounts_seen_as(viewer),
            throttle,
            TaskLimits::default(),
            fixed_clock(),
        )
    }

    fn service(owner_task: Task, viewer: gatehouse_domain::User) -> TaskService {
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_find()
            .returning(move |_| Ok(Some(owner_task.clone())));
        tasks.expect_advance().returning(|_, _, _| Ok(true));
        over(tasks, MockJobQueue::new(), permissive_throttle(), viewer)
    }

    #[tokio::test]
    async fn tasks_are_visible_to_their_owner_and_admins_only() {
        let owner = user("ada@example.test", "ada");
        let stranger = user("bob@example.test", "bob");
        let mut admin = user("root@example.test", "root");
        admin.role = Role::Admin;
        let mut task = add_task(1.0, 2.0);
        task.owner = Some(owner.id);
        for (viewer, visible) in [(owner, true), (admin, true), (stranger, false)] {
            let principal = bearer_principal(viewer.id);
            let service = service(task.clone(), viewer);
            let seen = service.get(&principal, task.id).await;
            let revoked = service.revoke(&principal, task.id).await;
            if visible {
                assert_eq!(seen.unwrap().id, task.id);
                assert!(revoked.is_ok());
            } else {
                assert!(matches!(seen, Err(AppError::NotFound("task"))));
                assert!(matches!(revoked, Err(AppError::NotFound("task"))));
            }
        }
    }

    #[tokio::test]
    async fn a_task_the_queue_refuses_is_failed_not_left_pending() {
        let owner = user("ada@example.test", "ada");
        let mut tasks = MockTaskRepository::new();
        tasks.expect_insert().times(1).returning(|_, _| Ok(true));
        tasks
            .expect_advance()
            .withf(|_, change, _| matches!(change, TaskChange::Failed(_)))
            .times(1)
            .returning(|_, _, _| Ok(true));
        let mut queue = MockJobQueue::new();
        queue
            .expect_enqueue()
            .returning(|_, _| Err(anyhow::anyhow!("queue down")));
        let service = over(tasks, queue, permissive_throttle(), owner.clone());
        let result = service
            .submit(&bearer_principal(owner.id), NewTask::add(1.0, 2.0).unwrap())
            .await;
        assert!(matches!(result, Err(AppError::Unavailable(_))));
    }

    /// A full task list refuses with 429, stores nothing, and gives the hourly reservation
    /// back: refused creations do not count.
    #[tokio::test]
    async fn a_full_task_list_refuses_and_gives_the_creation_back() {
        use crate::limits::ports::{MockRateLimiter, RateStatus};
        let owner = user("ada@example.test", "ada");
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_insert()
            .withf(|task, max_open| task.owner.is_some() && *max_open == 20)
            .times(1)
            .returning(|_, _| Ok(false));
        let mut queue = MockJobQueue::new();
        queue.expect_enqueue().never();
        let mut limiter = MockRateLimiter::new();
        limiter
            .expect_reserve()
            .withf(|key, limit| key.starts_with("tasks:user:") && limit.limit == 60)
            .times(1)
            .returning(|_, _| Ok(RateStatus::Allowed));
        limiter
            .expect_release()
            .withf(|key| key.starts_with("tasks:user:"))
            .times(1)
            .returning(|_| Ok(()));
        let throttle = Arc::new(Throttle::new(
            Arc::new(limiter),
            crate::limits::throttle::ThrottleSettings::default(),
            quiet_auditor(),
        ));
        let service = over(tasks, queue, throttle, owner.clone());
        let refused = service
            .submit(&bearer_principal(owner.id), NewTask::add(1.0, 2.0).unwrap())
            .await;
        assert!(
            matches!(refused, Err(AppError::RateLimited { .. })),
            "{refused:?}"
        );
    }
}
