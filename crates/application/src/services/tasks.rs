//! Background tasks: clients queue them and watch them; workers run them.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_domain::{Role, Task, TaskId, TaskKind, TaskStatus, summarise};
use serde_json::{Value, json};

use crate::ports::{Clock, JobLane, JobQueue, TaskChange, TaskRepository};
use crate::services::emails::EmailJobs;
use crate::{AppError, Principal, Throttle, UserService, counters};

/// The wire name of the service's own email jobs.
pub(crate) const SEND_EMAIL: &str = "send_email";

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
    /// Builds the service.
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
    pub async fn submit(&self, principal: &Principal, kind: TaskKind) -> Result<Task, AppError> {
        let owner = self.accounts.me(principal).await?;
        let arguments = match &kind {
            TaskKind::Add { x, y } => json!({ "x": x, "y": y }),
            TaskKind::LongRunning { seconds } => json!({ "seconds": seconds }),
            TaskKind::ProcessData { data } => json!({ "data": data }),
        };
        let creation = self.throttle.reserve_task(owner.id).await?;
        let task = Task::queued(Some(owner.id), kind.name(), arguments, self.clock.now());
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
        kind: &str,
        arguments: Value,
        lane: JobLane,
    ) -> Result<Task, AppError> {
        let task = Task::queued(None, kind, arguments, self.clock.now());
        self.tasks.insert(&task, self.limits.max_open).await?;
        self.enqueue(task, lane).await
    }

    /// Hands a recorded task to the queue. A task the queue refused is marked `FAILURE` on
    /// the spot, so no record waits for a job that does not exist (and its place is freed).
    async fn enqueue(&self, task: Task, lane: JobLane) -> Result<Task, AppError> {
        if let Err(error) = self.queue.enqueue(task.id, lane).await {
            let message = "the job queue refused the task".to_owned();
            // Best effort: the queue being down may mean the database is too.
            let _ = self
                .tasks
                .advance(task.id, TaskChange::Failed(message), self.clock.now())
                .await;
            return Err(AppError::Unavailable(error));
        }
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

/// How workers run jobs.
#[derive(Debug, Clone, Copy)]
pub struct JobSettings {
    /// Runs per job, the first included.
    pub max_attempts: u32,
    /// How long one `long_running` step sleeps; the task checks for revocation between steps.
    pub step: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            step: Duration::from_secs(1),
        }
    }
}

/// Why a run did not succeed, and so what the queue should do with the job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobFailure {
    /// Run it again later.
    #[error("{0}")]
    Retry(String),
    /// Do not run it again; the task is `FAILURE`.
    #[error("{0}")]
    GiveUp(String),
}

/// How executing a task ended, short of success.
enum Interrupted {
    Revoked,
    Transient(String),
    Permanent(String),
}

/// Runs the job behind a task id: the worker side of [`TaskService`]. Runs are idempotent:
/// a job delivered twice, or for a task already final or revoked, does nothing.
pub struct JobRunner {
    tasks: Arc<dyn TaskRepository>,
    emails: Arc<EmailJobs>,
    clock: Arc<dyn Clock>,
    settings: JobSettings,
}

impl JobRunner {
    /// Builds the runner.
    pub fn new(
        tasks: Arc<dyn TaskRepository>,
        emails: Arc<EmailJobs>,
        clock: Arc<dyn Clock>,
        settings: JobSettings,
    ) -> Self {
        Self {
            tasks,
            emails,
            clock,
            settings,
        }
    }

    /// The settings it runs with.
    pub fn settings(&self) -> JobSettings {
        self.settings
    }

    /// Runs attempt `attempt` (1-based) of `id`, recording each step on the task.
    #[tracing::instrument(skip(self), fields(task = %id))]
    pub async fn run(&self, id: TaskId, attempt: u32) -> Result<(), JobFailure> {
        let transient = |e: anyhow::Error| JobFailure::Retry(format!("{e:#}"));
        let Some(task) = self.tasks.find(id).await.map_err(transient)? else {
            tracing::warn!("job for an unknown task dropped");
            return Ok(());
        };
        // A run whose worker died may go uncounted by the queue (some storages re-queue the
        // job as it was): the task record saw it start, so count from there too.
        let attempt = attempt.max(task.attempts.saturating_add(1));
        let started = TaskChange::Started { attempt };
        if task.status.is_final() || !self.advance(id, started).await.map_err(transient)? {
            return Ok(());
        }
        let (change, outcome) = match self.execute(&task).await {
            Ok(result) => (TaskChange::Succeeded(result), Ok(())),
            Err(Interrupted::Revoked) => return Ok(()),
            Err(Interrupted::Transient(error)) if attempt < self.settings.max_attempts => (
                TaskChange::Retrying(error.clone()),
                Err(JobFailure::Retry(error)),
            ),
            Err(Interrupted::Transient(error) | Interrupted::Permanent(error)) => (
                TaskChange::Failed(error.clone()),
                Err(JobFailure::GiveUp(error)),
            ),
        };
        tracing::info!(?outcome, attempt, kind = task.kind, "job ran");
        self.advance(id, change).await.map_err(transient)?;
        outcome
    }

    async fn advance(&self, id: TaskId, change: TaskChange) -> anyhow::Result<bool> {
        self.tasks.advance(id, change, self.clock.now()).await
    }

    async fn execute(&self, task: &Task) -> Result<Value, Interrupted> {
        let number = |name: &str| task.arguments[name].as_f64();
        let malformed = || Interrupted::Permanent(format!("malformed {} arguments", task.kind));
        match task.kind.as_str() {
            "add" => {
                let (Some(x), Some(y)) = (number("x"), number("y")) else {
                    return Err(malformed());
                };
                let sum = x + y;
                if sum.is_finite() {
                    Ok(json!(sum))
                } else {
                    Err(Interrupted::Permanent(
                        "the sum is not a finite number".into(),
                    ))
                }
            }
            "long_running" => {
                let seconds = number("seconds").ok_or_else(malformed)? as u32;
                self.sleep_in_steps(task.id, seconds).await?;
                Ok(json!({ "slept_seconds": seconds }))
            }
            "process_data" => Ok(summarise(&task.arguments["data"])),
            SEND_EMAIL => self
                .emails
                .deliver(&task.arguments)
                .await
                .map(|()| json!({ "sent": true }))
                .map_err(|e| Interrupted::Transient(format!("{e:#}"))),
            other => Err(Interrupted::Permanent(format!("unknown task type {other}"))),
        }
    }

    async fn sleep_in_steps(&self, id: TaskId, seconds: u32) -> Result<(), Interrupted> {
        for _ in 0..seconds {
            tokio::time::sleep(self.settings.step).await;
            let current = self.tasks.find(id).await;
            if matches!(current, Ok(Some(t)) if t.status == TaskStatus::Revoked) {
                return Err(Interrupted::Revoked);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use gatehouse_domain::Role;

    use super::*;
    use crate::ports::{
        MockEmailTokenStore, MockJobQueue, MockMailer, MockPasswordHasher, MockTaskRepository,
        MockUserRepository,
    };
    use crate::services::test_support::{
        NOW, bearer_principal, fixed_clock, permissive_throttle, quiet_auditor, user,
    };

    /// A task table holding `task`, recording every change applied to it.
    fn table(task: Option<Task>) -> (MockTaskRepository, Arc<Mutex<Vec<TaskChange>>>) {
        let changes = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = MockTaskRepository::new();
        tasks.expect_find().returning(move |_| Ok(task.clone()));
        let log = changes.clone();
        tasks.expect_advance().returning(move |_, change, _| {
            log.lock().unwrap().push(change);
            Ok(true)
        });
        (tasks, changes)
    }

    fn runner(tasks: MockTaskRepository, mailer: MockMailer) -> JobRunner {
        let mut users = MockUserRepository::new();
        let account = user("ada@example.test", "ada");
        users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(account.clone())));
        let mut tokens = MockEmailTokenStore::new();
        tokens.expect_issue().returning(|_, _, _, _, _| Ok(()));
        let emails = EmailJobs::new(
            Arc::new(users),
            Arc::new(tokens),
            Arc::new(mailer),
            quiet_auditor(),
            fixed_clock(),
            crate::EmailSettings::default(),
        );
        let settings = JobSettings {
            max_attempts: 3,
            step: Duration::from_millis(1),
        };
        JobRunner::new(Arc::new(tasks), Arc::new(emails), fixed_clock(), settings)
    }

    fn add(x: f64, y: f64) -> Task {
        Task::queued(None, "add", json!({"x": x, "y": y}), NOW)
    }

    #[tokio::test]
    async fn a_run_records_its_start_and_its_result() {
        let task = add(2.0, 40.5);
        let (tasks, changes) = table(Some(task.clone()));
        runner(tasks, MockMailer::new())
            .run(task.id, 1)
            .await
            .unwrap();
        assert_eq!(
            *changes.lock().unwrap(),
            [
                TaskChange::Started { attempt: 1 },
                TaskChange::Succeeded(json!(42.5))
            ]
        );
    }

    #[tokio::test]
    async fn final_and_unknown_tasks_are_left_alone() {
        let mut revoked = add(1.0, 1.0);
        revoked.status = TaskStatus::Revoked;
        for task in [Some(revoked), None] {
            let (tasks, changes) = table(task);
            runner(tasks, MockMailer::new())
                .run(TaskId::generate(), 2)
                .await
                .unwrap();
            assert!(changes.lock().unwrap().is_empty());
        }
    }

    #[tokio::test]
    async fn transient_failures_retry_until_the_last_attempt() {
        let task = Task::queued(
            None,
            SEND_EMAIL,
            crate::AccountEmail::PasswordReset {
                requested_from: None,
            }
            .arguments(&crate::Recipient::User(gatehouse_domain::UserId::generate())),
            NOW,
        );
        for (attempt, expected) in [(1, true), (2, true), (3, false)] {
            let (tasks, changes) = table(Some(task.clone()));
            let mut mailer = MockMailer::new();
            mailer
                .expect_send()
                .returning(|_| Err(anyhow::anyhow!("smtp down")));
            let outcome = runner(tasks, mailer).run(task.id, attempt).await;
            let last = changes.lock().unwrap().last().cloned().unwrap();
            if expected {
                assert_eq!(outcome, Err(JobFailure::Retry("smtp down".into())));
                assert_eq!(last, TaskChange::Retrying("smtp down".into()));
            } else {
                assert_eq!(outcome, Err(JobFailure::GiveUp("smtp down".into())));
                assert_eq!(last, TaskChange::Failed("smtp down".into()));
            }
        }
    }

    #[tokio::test]
    async fn runs_the_queue_forgot_still_count() {
        let mut task = Task::queued(
            None,
            SEND_EMAIL,
            crate::AccountEmail::PasswordReset {
                requested_from: None,
            }
            .arguments(&crate::Recipient::User(gatehouse_domain::UserId::generate())),
            NOW,
        );
        // Two runs started (their workers died); the queue re-delivers it as a first attempt.
        task.status = TaskStatus::Started;
        task.attempts = 2;
        let (tasks, changes) = table(Some(task.clone()));
        let mut mailer = MockMailer::new();
        mailer
            .expect_send()
            .returning(|_| Err(anyhow::anyhow!("smtp down")));
        let outcome = runner(tasks, mailer).run(task.id, 1).await;
        assert_eq!(outcome, Err(JobFailure::GiveUp("smtp down".into())));
        assert_eq!(
            *changes.lock().unwrap(),
            [
                TaskChange::Started { attempt: 3 },
                TaskChange::Failed("smtp down".into())
            ]
        );
    }

    #[tokio::test]
    async fn permanent_failures_give_up_at_once() {
        let task = add(1e308, 1e308);
        let (tasks, changes) = table(Some(task.clone()));
        let outcome = runner(tasks, MockMailer::new()).run(task.id, 1).await;
        assert!(matches!(outcome, Err(JobFailure::GiveUp(_))));
        assert!(matches!(
            changes.lock().unwrap().last(),
            Some(TaskChange::Failed(_))
        ));
    }

    /// A task service over these ports, for a caller who is `viewer`.
    fn over(
        tasks: MockTaskRepository,
        queue: MockJobQueue,
        throttle: Arc<Throttle>,
        viewer: gatehouse_domain::User,
    ) -> TaskService {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(viewer.clone())));
        let accounts = UserService::new(
            Arc::new(users),
            Arc::new(MockPasswordHasher::new()),
            fixed_clock(),
            gatehouse_domain::PasswordPolicy::default(),
        );
        TaskService::new(
            Arc::new(tasks),
            Arc::new(queue),
            Arc::new(accounts),
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
        let mut task = add(1.0, 2.0);
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
            .submit(
                &bearer_principal(owner.id),
                TaskKind::add(1.0, 2.0).unwrap(),
            )
            .await;
        assert!(matches!(result, Err(AppError::Unavailable(_))));
    }

    /// A full task list refuses with 429, stores nothing, and gives the hourly reservation
    /// back: refused creations do not count.
    #[tokio::test]
    async fn a_full_task_list_refuses_and_gives_the_creation_back() {
        use crate::ports::{MockRateLimiter, RateStatus};
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
            crate::ThrottleSettings::default(),
            quiet_auditor(),
        ));
        let service = over(tasks, queue, throttle, owner.clone());
        let refused = service
            .submit(
                &bearer_principal(owner.id),
                TaskKind::add(1.0, 2.0).unwrap(),
            )
            .await;
        assert!(
            matches!(refused, Err(AppError::RateLimited { .. })),
            "{refused:?}"
        );
    }
}
