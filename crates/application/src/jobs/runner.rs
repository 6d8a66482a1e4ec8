//! The worker side of jobs: runs the job behind a task id and records how it went.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_domain::{Task, TaskId, TaskKind, TaskStatus, summarise};
use serde_json::{Value, json};

use crate::jobs::emails::EmailJobs;
use crate::jobs::ports::{TaskChange, TaskRepository};
use crate::shared::ports::Clock;

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

/// Runs the job behind a task id: the worker side of [`super::tasks::TaskService`]. Runs are idempotent:
/// a job delivered twice, or for a task already final or revoked, does nothing.
pub struct JobRunner {
    tasks: Arc<dyn TaskRepository>,
    emails: Arc<EmailJobs>,
    clock: Arc<dyn Clock>,
    settings: JobSettings,
}

impl JobRunner {
    /// A runner recording each run on the task table; `emails` sends the `send_email` jobs and
    /// `settings` bound retries and the `long_running` step.
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
        tracing::info!(?outcome, attempt, kind = task.kind.as_str(), "job ran");
        self.advance(id, change).await.map_err(transient)?;
        outcome
    }

    async fn advance(&self, id: TaskId, change: TaskChange) -> anyhow::Result<bool> {
        self.tasks.advance(id, change, self.clock.now()).await
    }

    async fn execute(&self, task: &Task) -> Result<Value, Interrupted> {
        let number = |name: &str| task.arguments[name].as_f64();
        let malformed = || Interrupted::Permanent(format!("malformed {} arguments", task.kind));
        match task.kind {
            TaskKind::Add => {
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
            TaskKind::LongRunning => {
                let seconds = number("seconds").ok_or_else(malformed)? as u32;
                self.sleep_in_steps(task.id, seconds).await?;
                Ok(json!({ "slept_seconds": seconds }))
            }
            TaskKind::ProcessData => Ok(summarise(&task.arguments["data"])),
            TaskKind::SendEmail => self
                .emails
                .deliver(&task.arguments)
                .await
                .map(|()| json!({ "sent": true }))
                .map_err(|e| Interrupted::Transient(format!("{e:#}"))),
            TaskKind::Unrecognised => Err(Interrupted::Permanent("unknown task type".into())),
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

    use super::*;
    use crate::accounts::ports::MockUserRepository;
    use crate::credentials::ports::MockEmailTokenStore;
    use crate::jobs::ports::{MockMailer, MockTaskRepository};
    use crate::test_support::{NOW, add_task, fixed_clock, quiet_auditor, user};

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
            crate::jobs::emails::EmailSettings::default(),
        );
        let settings = JobSettings {
            max_attempts: 3,
            step: Duration::from_millis(1),
        };
        JobRunner::new(Arc::new(tasks), Arc::new(emails), fixed_clock(), settings)
    }

    #[tokio::test]
    async fn a_run_records_its_start_and_its_result() {
        let task = add_task(2.0, 40.5);
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
        let mut revoked = add_task(1.0, 1.0);
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
            TaskKind::SendEmail,
            crate::jobs::emails::AccountEmail::PasswordReset {
                requested_from: None,
            }
            .arguments(&crate::jobs::emails::Recipient::User(
                gatehouse_domain::UserId::generate(),
            )),
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
            TaskKind::SendEmail,
            crate::jobs::emails::AccountEmail::PasswordReset {
                requested_from: None,
            }
            .arguments(&crate::jobs::emails::Recipient::User(
                gatehouse_domain::UserId::generate(),
            )),
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
        let task = add_task(1e308, 1e308);
        let (tasks, changes) = table(Some(task.clone()));
        let outcome = runner(tasks, MockMailer::new()).run(task.id, 1).await;
        assert!(matches!(outcome, Err(JobFailure::GiveUp(_))));
        assert!(matches!(
            changes.lock().unwrap().last(),
            Some(TaskChange::Failed(_))
        ));
    }

    #[tokio::test]
    async fn a_task_of_a_kind_this_release_does_not_know_fails_for_good() {
        let mut task = add_task(1.0, 1.0);
        task.kind = TaskKind::Unrecognised;
        let (tasks, changes) = table(Some(task.clone()));
        let outcome = runner(tasks, MockMailer::new()).run(task.id, 1).await;
        assert!(matches!(outcome, Err(JobFailure::GiveUp(_))));
        assert!(matches!(
            changes.lock().unwrap().last(),
            Some(TaskChange::Failed(error)) if error == "unknown task type"
        ));
    }
}
