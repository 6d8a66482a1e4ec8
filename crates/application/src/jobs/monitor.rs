//! The job monitor (what Flower shows for Celery): every job of every owner, counted by
//! state, listed with filters, retried when it failed and revoked while it waits. Admins only;
//! every change is audited.

use std::sync::Arc;

use gatehouse_domain::{AuditEventType, Task, TaskId, TaskKind, TaskStatus};

use crate::accounts::policy;
use crate::accounts::users::UserService;
use crate::jobs::ports::{JobLane, JobQueue, TaskChange, TaskFilter, TaskRepository};
use crate::jobs::tasks::hand_to_queue;
use crate::shared::audit_trail::{AuditContext, Auditor};
use crate::shared::context::Principal;
use crate::shared::error::{AppError, ValidationErrors};
use crate::shared::pagination::{CursorCodec, Keyset, Page};
use crate::shared::ports::Clock;

/// A job list query as sent: state and kind by their wire names.
#[derive(Debug, Default)]
pub struct JobQuery {
    /// A state (`PENDING`, `FAILURE`, ...).
    pub status: Option<String>,
    /// A kind (`add`, `send_email`, ...).
    pub kind: Option<String>,
    /// Page size.
    pub limit: Option<u64>,
    /// Page cursor.
    pub cursor: Option<String>,
}

/// The ports [`JobMonitor`] works on.
pub struct JobMonitorParts {
    /// Task records.
    pub tasks: Arc<dyn TaskRepository>,
    /// Where a retried job goes.
    pub queue: Arc<dyn JobQueue>,
    /// Resolves callers.
    pub accounts: Arc<UserService>,
    /// Records retries and revocations.
    pub audit: Arc<Auditor>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Signs page cursors.
    pub cursors: CursorCodec,
}

/// Watches and steers the job queue for admins.
pub struct JobMonitor {
    tasks: Arc<dyn TaskRepository>,
    queue: Arc<dyn JobQueue>,
    accounts: Arc<UserService>,
    audit: Arc<Auditor>,
    clock: Arc<dyn Clock>,
    cursors: CursorCodec,
}

impl JobMonitor {
    /// A monitor over `parts`.
    pub fn new(parts: JobMonitorParts) -> Self {
        Self {
            tasks: parts.tasks,
            queue: parts.queue,
            accounts: parts.accounts,
            audit: parts.audit,
            clock: parts.clock,
            cursors: parts.cursors,
        }
    }

    /// How many jobs are in each state, every state listed (zero when none).
    pub async fn counts(&self, principal: &Principal) -> Result<Vec<(TaskStatus, u64)>, AppError> {
        self.admin(principal).await?;
        let stored = self.tasks.count_by_status().await?;
        Ok(TaskStatus::ALL
            .iter()
            .map(|status| {
                let count = stored
                    .iter()
                    .find(|(s, _)| s == status)
                    .map_or(0, |(_, n)| *n);
                (*status, count)
            })
            .collect())
    }

    /// One page of jobs, newest first, filtered by state and kind.
    pub async fn list(
        &self,
        principal: &Principal,
        query: JobQuery,
    ) -> Result<Page<Task>, AppError> {
        self.admin(principal).await?;
        let mut errors = ValidationErrors::new();
        let status = blank(query.status.as_deref()).and_then(|raw| {
            let status = TaskStatus::parse(raw);
            if status.is_none() {
                errors.add("status", "unknown job state");
            }
            status
        });
        let kind =
            blank(query.kind.as_deref()).and_then(|raw| errors.check(raw.parse::<TaskKind>()));
        errors.into_result()?;
        let scope = format!(
            "jobs|{}|{}",
            status.map(TaskStatus::as_str).unwrap_or_default(),
            kind.map(TaskKind::as_str).unwrap_or_default()
        );
        let cursors = self.cursors.scoped(&scope);
        let request = cursors.request(query.limit, query.cursor.as_deref())?;
        let rows = self
            .tasks
            .page(&TaskFilter { status, kind }, &request)
            .await?;
        Ok(Page::assemble(rows, &request, &cursors, |task| Keyset {
            created_at: task.created_at,
            id: task.id.as_uuid(),
        }))
    }

    /// One job, whoever owns it.
    pub async fn get(&self, principal: &Principal, id: TaskId) -> Result<Task, AppError> {
        self.admin(principal).await?;
        self.find(id).await
    }

    /// Puts a failed job back in its queue: the same job, its attempts counting on. Only a
    /// `FAILURE` moves (409 otherwise), once however many retries arrive together.
    pub async fn retry(&self, principal: &Principal, id: TaskId) -> Result<Task, AppError> {
        self.admin(principal).await?;
        let task = self.find(id).await?;
        if !self.tasks.requeue_failed(id).await? {
            return Err(AppError::Conflict {
                field: "status",
                message: "only a failed job can be retried".into(),
            });
        }
        let lane = JobLane::for_kind(task.kind);
        hand_to_queue(&*self.queue, &*self.tasks, &*self.clock, id, lane).await?;
        self.audit_job(principal, AuditEventType::JobRetried, &task)
            .await;
        self.find(id).await
    }

    /// Revokes a job that has not finished; 409 when it has.
    pub async fn revoke(&self, principal: &Principal, id: TaskId) -> Result<Task, AppError> {
        self.admin(principal).await?;
        let task = self.find(id).await?;
        if !self
            .tasks
            .advance(id, TaskChange::Revoked, self.clock.now())
            .await?
        {
            return Err(AppError::Conflict {
                field: "status",
                message: "the job has finished already".into(),
            });
        }
        self.audit_job(principal, AuditEventType::JobRevoked, &task)
            .await;
        self.find(id).await
    }

    async fn admin(&self, principal: &Principal) -> Result<(), AppError> {
        let actor = self.accounts.me(principal).await?;
        policy::require_admin(&actor)
    }

    async fn find(&self, id: TaskId) -> Result<Task, AppError> {
        self.tasks.find(id).await?.ok_or(AppError::NotFound("task"))
    }

    async fn audit_job(&self, principal: &Principal, kind: AuditEventType, task: &Task) {
        // About the job's owner when it has one; the service's own jobs are about nobody.
        let mut context = AuditContext::by(principal, principal.user_id);
        context.user = task.owner;
        context.actor = Some(principal.user_id);
        let data = [
            ("job", task.id.to_string()),
            ("kind", task.kind.as_str().to_owned()),
            ("attempts", task.attempts.to_string()),
        ];
        self.audit.record(kind, context, &data).await;
    }
}

/// A filter as typed: blank means none.
fn blank(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|raw| !raw.is_empty())
}

#[cfg(test)]
mod tests {
    use gatehouse_domain::Role;

    use super::*;
    use crate::jobs::ports::{MockJobQueue, MockTaskRepository};
    use crate::test_support::{
        accounts_seen_as, add_task, bearer_principal, fixed_clock, recording_auditor, user,
    };

    fn monitor(
        tasks: MockTaskRepository,
        queue: MockJobQueue,
        viewer: gatehouse_domain::User,
        audit: Arc<Auditor>,
    ) -> JobMonitor {
        JobMonitor::new(JobMonitorParts {
            tasks: Arc::new(tasks),
            queue: Arc::new(queue),
            accounts: accounts_seen_as(viewer),
            audit,
            clock: fixed_clock(),
            cursors: CursorCodec::new(vec![3; 32]),
        })
    }

    fn admin() -> gatehouse_domain::User {
        let mut admin = user("root@example.test", "root");
        admin.role = Role::Admin;
        admin
    }

    #[tokio::test]
    async fn only_admins_watch_and_steer_jobs() {
        let plain = user("ada@example.test", "ada");
        let (audit, _) = recording_auditor();
        let monitor = monitor(
            MockTaskRepository::new(),
            MockJobQueue::new(),
            plain.clone(),
            audit,
        );
        let me = bearer_principal(plain.id);
        let id = TaskId::generate();
        assert!(matches!(
            monitor.counts(&me).await,
            Err(AppError::PermissionDenied)
        ));
        assert!(matches!(
            monitor.retry(&me, id).await,
            Err(AppError::PermissionDenied)
        ));
        assert!(matches!(
            monitor.revoke(&me, id).await,
            Err(AppError::PermissionDenied)
        ));
        let list = monitor.list(&me, JobQuery::default()).await;
        assert!(matches!(list, Err(AppError::PermissionDenied)));
    }

    #[tokio::test]
    async fn a_retry_requeues_the_same_job_in_its_lane_and_is_audited() {
        let mut task = add_task(1.0, 2.0);
        task.status = TaskStatus::Failure;
        task.attempts = 5;
        let id = task.id;
        let mut tasks = MockTaskRepository::new();
        let found = task.clone();
        tasks
            .expect_find()
            .returning(move |_| Ok(Some(found.clone())));
        tasks
            .expect_requeue_failed()
            .withf(move |requeued| *requeued == id)
            .times(1)
            .returning(|_| Ok(true));
        let mut queue = MockJobQueue::new();
        queue
            .expect_enqueue()
            .withf(move |queued, lane| *queued == id && *lane == JobLane::Task)
            .times(1)
            .returning(|_, _| Ok(()));
        let (audit, events) = recording_auditor();
        let admin = admin();
        let monitor = monitor(tasks, queue, admin.clone(), audit);
        monitor
            .retry(&bearer_principal(admin.id), id)
            .await
            .unwrap();
        let events = events.lock().unwrap();
        let retried = events
            .iter()
            .find(|e| e.kind == AuditEventType::JobRetried)
            .expect("a job_retried event");
        assert_eq!(retried.actor, Some(admin.id));
        assert_eq!(retried.data.get("job"), Some(&id.to_string()));
    }

    #[tokio::test]
    async fn only_a_failed_job_is_retried_and_only_an_unfinished_one_revoked() {
        let task = add_task(1.0, 2.0);
        let mut tasks = MockTaskRepository::new();
        let found = task.clone();
        tasks
            .expect_find()
            .returning(move |_| Ok(Some(found.clone())));
        tasks.expect_requeue_failed().returning(|_| Ok(false));
        tasks.expect_advance().returning(|_, _, _| Ok(false));
        let (audit, events) = recording_auditor();
        let admin = admin();
        let monitor = monitor(tasks, MockJobQueue::new(), admin.clone(), audit);
        let me = bearer_principal(admin.id);
        assert!(matches!(
            monitor.retry(&me, task.id).await,
            Err(AppError::Conflict {
                field: "status",
                ..
            })
        ));
        assert!(matches!(
            monitor.revoke(&me, task.id).await,
            Err(AppError::Conflict {
                field: "status",
                ..
            })
        ));
        assert!(
            events.lock().unwrap().is_empty(),
            "nothing happened, nothing audited"
        );
    }

    #[tokio::test]
    async fn a_retry_the_queue_refuses_leaves_the_job_failed() {
        let mut task = add_task(1.0, 2.0);
        task.status = TaskStatus::Failure;
        let mut tasks = MockTaskRepository::new();
        let found = task.clone();
        tasks
            .expect_find()
            .returning(move |_| Ok(Some(found.clone())));
        tasks.expect_requeue_failed().returning(|_| Ok(true));
        tasks
            .expect_advance()
            .withf(|_, change, _| matches!(change, TaskChange::Failed(_)))
            .times(1)
            .returning(|_, _, _| Ok(true));
        let mut queue = MockJobQueue::new();
        queue
            .expect_enqueue()
            .returning(|_, _| Err(anyhow::anyhow!("broker down")));
        let (audit, _) = recording_auditor();
        let admin = admin();
        let outcome = monitor(tasks, queue, admin.clone(), audit)
            .retry(&bearer_principal(admin.id), task.id)
            .await;
        assert!(matches!(outcome, Err(AppError::Unavailable(_))));
    }
}
