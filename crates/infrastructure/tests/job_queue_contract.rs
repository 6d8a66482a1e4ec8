//! The `JobQueue` contract, run against every storage: SQLite, PostgreSQL and Redis (and, for
//! delivery, memory: see `in_memory` at the end). Real workers pop real jobs and run them with
//! the real `JobRunner`; only the mailer is a scripted stand-in, so that failures happen on
//! cue.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use gatehouse_application::ports::{
    EmailMessage, JobLane, JobQueue, Mailer, TaskChange, TaskRepository, UserRepository,
};
use gatehouse_application::{
    AccountEmail, Auditor, EmailJobs, EmailSettings, JobRunner, JobSettings, Recipient,
};
use gatehouse_domain::{Email, PasswordHash, Task, TaskId, TaskKind, TaskStatus, User, Username};
use gatehouse_infrastructure::SystemClock;
use gatehouse_infrastructure::database::{
    self, Connection, SeaOrmAuditLog, SeaOrmEmailTokenStore, SeaOrmTaskRepository,
    SeaOrmUserRepository,
};
use gatehouse_infrastructure::jobs::{ApalisJobQueue, JobCounts, QueueSettings};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// Fails the first `failures` sends, then accepts; remembers when each call came.
#[derive(Default)]
struct ScriptedMailer {
    failures: AtomicUsize,
    calls: Mutex<Vec<Instant>>,
}

#[async_trait]
impl Mailer for ScriptedMailer {
    async fn send(&self, _message: &EmailMessage) -> anyhow::Result<()> {
        self.calls.lock().unwrap().push(Instant::now());
        let left = self.failures.load(Ordering::SeqCst);
        if left > 0 {
            self.failures.store(left - 1, Ordering::SeqCst);
            anyhow::bail!("connection refused (scripted)");
        }
        Ok(())
    }
}

/// Where the queue lives.
enum QueueStore {
    /// Tables in the database at this URL.
    Database(String),
    /// Redis at `url`, keys under `prefix`.
    Redis { url: String, prefix: String },
}

struct Fixture {
    db: Connection,
    store: QueueStore,
    tasks: Arc<dyn TaskRepository>,
    _keep: Box<dyn std::any::Any + Send>,
}

const BACKOFF: Duration = Duration::from_millis(200);

impl Fixture {
    async fn queue(&self, max_attempts: u32) -> ApalisJobQueue {
        self.queue_with(max_attempts, 4).await
    }

    async fn queue_with(&self, max_attempts: u32, concurrency: usize) -> ApalisJobQueue {
        let settings = QueueSettings {
            max_attempts,
            first_backoff: BACKOFF,
            max_backoff: Duration::from_secs(1),
            poll: Duration::from_millis(100),
            heartbeat: Duration::from_secs(1),
            concurrency,
        };
        match &self.store {
            QueueStore::Database(url) => ApalisJobQueue::connect(url, settings).await.unwrap(),
            QueueStore::Redis { url, prefix } => {
                ApalisJobQueue::connect_redis(url, prefix, settings)
                    .await
                    .unwrap()
            }
        }
    }

    fn runner(&self, mailer: Arc<ScriptedMailer>, max_attempts: u32) -> Arc<JobRunner> {
        let emails = EmailJobs::new(
            Arc::new(SeaOrmUserRepository::new(self.db.clone())),
            Arc::new(SeaOrmEmailTokenStore::new(self.db.clone())),
            mailer,
            Arc::new(Auditor::new(
                Arc::new(SeaOrmAuditLog::new(self.db.clone())),
                Arc::new(SystemClock),
            )),
            Arc::new(SystemClock),
            EmailSettings::default(),
        );
        let settings = JobSettings {
            max_attempts,
            step: Duration::from_millis(100),
        };
        Arc::new(JobRunner::new(
            self.tasks.clone(),
            Arc::new(emails),
            Arc::new(SystemClock),
            settings,
        ))
    }

    /// Starts a worker; stop it by sending on (or dropping) the returned sender, or kill it
    /// by aborting the handle.
    fn worker(
        &self,
        queue: &ApalisJobQueue,
        runner: Arc<JobRunner>,
    ) -> (
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    ) {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let queue = queue.clone();
        let name = format!("contract-{}", uuid::Uuid::new_v4());
        let handle = tokio::spawn(async move {
            queue
                .run_worker(name, runner, async move {
                    let _ = stopped.await;
                })
                .await
        });
        (stop, handle)
    }

    /// Records and queues a task: emails in their lane, everything else in the tasks'.
    async fn submit(&self, queue: &ApalisJobQueue, kind: &str, arguments: Value) -> TaskId {
        let kind = TaskKind::parse(kind).expect("a known task kind");
        let task = Task::queued(None, kind, arguments, OffsetDateTime::now_utc());
        self.tasks.insert(&task, u32::MAX).await.unwrap();
        let lane = if kind == TaskKind::SendEmail {
            JobLane::Email
        } else {
            JobLane::Task
        };
        queue.enqueue(task.id, lane).await.unwrap();
        task.id
    }

    /// Polls the task until `done` holds or `timeout` passes; returns the last state.
    async fn wait(&self, id: TaskId, timeout: Duration, done: impl Fn(&Task) -> bool) -> Task {
        let deadline = Instant::now() + timeout;
        loop {
            let task = self.tasks.find(id).await.unwrap().unwrap();
            if done(&task) || Instant::now() >= deadline {
                return task;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn user(&self) -> User {
        let user = User::register(
            Email::parse("ada@example.com").unwrap(),
            Username::parse("ada").unwrap(),
            PasswordHash::new("$2b$04$abcdefghijklmnopqrstuu".into()),
            OffsetDateTime::now_utc(),
        );
        SeaOrmUserRepository::new(self.db.clone())
            .insert(&user)
            .await
            .unwrap();
        user
    }
}

/// The arguments the request path queues for a verification email.
fn verification_email(user: &User) -> Value {
    AccountEmail::Verification.arguments(&Recipient::User(user.id))
}

async fn queued_tasks_run_once(fx: Fixture) {
    let queue = fx.queue(3).await;
    let sum = fx.submit(&queue, "add", json!({"x": 2, "y": 40.5})).await;
    let summary = fx
        .submit(
            &queue,
            "process_data",
            json!({"data": {"b": 1, "a": [true]}}),
        )
        .await;
    assert_eq!(
        fx.tasks.find(sum).await.unwrap().unwrap().status,
        TaskStatus::Pending
    );
    let (_stop, _worker) = fx.worker(&queue, fx.runner(Arc::default(), 3));

    let sum = fx
        .wait(sum, Duration::from_secs(15), |t| t.status.is_final())
        .await;
    assert_eq!(
        (sum.status, sum.result, sum.attempts),
        (TaskStatus::Success, Some(json!(42.5)), 1)
    );
    assert!(sum.started_at.is_some() && sum.finished_at >= sum.started_at);
    let summary = fx
        .wait(summary, Duration::from_secs(15), |t| t.status.is_final())
        .await;
    assert_eq!(summary.status, TaskStatus::Success);
    assert_eq!(summary.result.unwrap()["keys"], json!(["a", "b"]));
    // The worker counts a run after recording it on the task: give it a moment.
    let counts = settled_counts(&queue, |c| c.succeeded == 2).await;
    assert_eq!(
        counts,
        JobCounts {
            queued: 2,
            succeeded: 2,
            ..JobCounts::default()
        }
    );
}

/// The queue's counters once `done` holds (or after a few seconds).
async fn settled_counts(queue: &ApalisJobQueue, done: impl Fn(&JobCounts) -> bool) -> JobCounts {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let counts = queue.counters().read();
        if done(&counts) || Instant::now() >= deadline {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn failures_retry_with_backoff_until_success(fx: Fixture) {
    let queue = fx.queue(4).await;
    let mailer = Arc::new(ScriptedMailer::default());
    mailer.failures.store(2, Ordering::SeqCst);
    let user = fx.user().await;
    let id = fx
        .submit(&queue, "send_email", verification_email(&user))
        .await;
    let (_stop, _worker) = fx.worker(&queue, fx.runner(mailer.clone(), 4));

    let task = fx
        .wait(id, Duration::from_secs(20), |t| t.status.is_final())
        .await;
    assert_eq!((task.status, task.attempts), (TaskStatus::Success, 3));
    let calls = mailer.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 3);
    for pair in calls.windows(2) {
        assert!(
            pair[1] - pair[0] >= BACKOFF,
            "retries wait: {:?}",
            pair[1] - pair[0]
        );
    }
}

async fn the_last_failure_is_final_and_recorded(fx: Fixture) {
    let queue = fx.queue(3).await;
    let mailer = Arc::new(ScriptedMailer::default());
    mailer.failures.store(usize::MAX, Ordering::SeqCst);
    let user = fx.user().await;
    let id = fx
        .submit(&queue, "send_email", verification_email(&user))
        .await;
    let (_stop, _worker) = fx.worker(&queue, fx.runner(mailer.clone(), 3));

    let retrying = fx
        .wait(id, Duration::from_secs(20), |t| {
            t.status == TaskStatus::Retry
        })
        .await;
    assert_eq!(
        retrying.status,
        TaskStatus::Retry,
        "a failed run that will be retried shows RETRY"
    );
    let task = fx
        .wait(id, Duration::from_secs(20), |t| t.status.is_final())
        .await;
    assert_eq!((task.status, task.attempts), (TaskStatus::Failure, 3));
    assert!(
        task.error
            .unwrap()
            .contains("connection refused (scripted)")
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        mailer.calls.lock().unwrap().len(),
        3,
        "nothing runs after the last attempt"
    );
    assert_eq!(
        queue.counters().read(),
        JobCounts {
            queued: 1,
            retried: 2,
            failed: 1,
            ..JobCounts::default()
        }
    );
}

async fn revoked_tasks_never_start_or_stop_early(fx: Fixture) {
    let queue = fx.queue(3).await;
    let early = fx.submit(&queue, "add", json!({"x": 1, "y": 1})).await;
    fx.tasks
        .advance(early, TaskChange::Revoked, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let long = fx
        .submit(&queue, "long_running", json!({"seconds": 600}))
        .await;
    let (_stop, _worker) = fx.worker(&queue, fx.runner(Arc::default(), 3));

    let started = fx
        .wait(long, Duration::from_secs(15), |t| {
            t.status == TaskStatus::Started
        })
        .await;
    assert_eq!(started.status, TaskStatus::Started);
    assert_eq!(
        queue.counters().read().running,
        1,
        "the long task is running"
    );
    fx.tasks
        .advance(long, TaskChange::Revoked, OffsetDateTime::now_utc())
        .await
        .unwrap();
    // The worker is free again once the long task notices: a new task completes.
    let after = fx.submit(&queue, "add", json!({"x": 1, "y": 2})).await;
    let after = fx
        .wait(after, Duration::from_secs(15), |t| t.status.is_final())
        .await;
    assert_eq!(after.status, TaskStatus::Success);

    let early = fx.tasks.find(early).await.unwrap().unwrap();
    assert_eq!(
        (early.status, early.attempts, early.started_at),
        (TaskStatus::Revoked, 0, None)
    );
    let long = fx.tasks.find(long).await.unwrap().unwrap();
    assert_eq!((long.status, long.result), (TaskStatus::Revoked, None));
}

async fn a_job_whose_worker_dies_completes_on_another(fx: Fixture) {
    let queue = fx.queue(3).await;
    let id = fx
        .submit(&queue, "long_running", json!({"seconds": 10}))
        .await;
    let (_stop, doomed) = fx.worker(&queue, fx.runner(Arc::default(), 3));
    let started = fx
        .wait(id, Duration::from_secs(15), |t| {
            t.status == TaskStatus::Started
        })
        .await;
    assert_eq!(started.status, TaskStatus::Started);
    doomed.abort();
    let _ = doomed.await;

    let (_stop, _survivor) = fx.worker(&queue, fx.runner(Arc::default(), 3));
    let task = fx
        .wait(id, Duration::from_secs(30), |t| t.status.is_final())
        .await;
    assert_eq!(task.status, TaskStatus::Success, "{task:?}");
    assert!(
        task.attempts >= 2,
        "the second run counts: {}",
        task.attempts
    );
    assert_eq!(task.result, Some(json!({"slept_seconds": 10})));
}

/// A worker runs at most its concurrency of tasks at once, and an email still goes out
/// while every task slot is taken: the lanes have slots of their own.
async fn tasks_are_bounded_and_emails_never_wait_behind_them(fx: Fixture) {
    let queue = fx.queue_with(3, 2).await;
    let mut long = Vec::new();
    for _ in 0..5 {
        long.push(
            fx.submit(&queue, "long_running", json!({"seconds": 600}))
                .await,
        );
    }
    let (_stop, _worker) = fx.worker(&queue, fx.runner(Arc::default(), 3));
    let started = || async {
        let mut started = 0;
        for id in &long {
            let task = fx.tasks.find(*id).await.unwrap().unwrap();
            started += usize::from(task.status == TaskStatus::Started);
        }
        started
    };
    // Wait for both slots to fill, give the worker time to take more, and count.
    let deadline = Instant::now() + Duration::from_secs(15);
    while started().await < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(started().await, 2, "two slots, two running tasks");

    let user = fx.user().await;
    let email = fx
        .submit(&queue, "send_email", verification_email(&user))
        .await;
    let sent = fx
        .wait(email, Duration::from_secs(10), |t| t.status.is_final())
        .await;
    assert_eq!(sent.status, TaskStatus::Success, "{sent:?}");
}

async fn sqlite() -> Fixture {
    let file = gatehouse_testing::TempSqlite::new();
    let db = database::open(&file.url(), 4, true).await.unwrap();
    Fixture {
        tasks: Arc::new(SeaOrmTaskRepository::new(db.clone())),
        db,
        store: QueueStore::Database(file.url()),
        _keep: Box::new(file),
    }
}

async fn postgres() -> Option<Fixture> {
    let test_db = gatehouse_testing::postgres().await?;
    let db = database::open(&test_db.url, 8, true).await.unwrap();
    Some(Fixture {
        tasks: Arc::new(SeaOrmTaskRepository::new(db.clone())),
        db,
        store: QueueStore::Database(test_db.url.clone()),
        _keep: Box::new(test_db),
    })
}

/// The queue in Redis (a key prefix of its own); task records in a SQLite file.
async fn redis() -> Option<Fixture> {
    let redis = gatehouse_testing::redis().await?;
    let mut fixture = sqlite().await;
    fixture.store = QueueStore::Redis {
        url: redis.url,
        prefix: redis.prefix,
    };
    Some(fixture)
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case(super::sqlite().await).await;
            })*
        }
        mod on_postgres {
            $(#[cfg_attr(gatehouse_no_postgres, ignore = "needs PostgreSQL: start it on 127.0.0.1:5432 or set GATEHOUSE_TEST_DATABASE_URL")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(fixture) = super::postgres().await else { return };
                super::$case(fixture).await;
            })*
        }
        mod on_redis {
            $(#[cfg_attr(gatehouse_no_redis, ignore = "needs Redis: start it on 127.0.0.1:6379 or set GATEHOUSE_TEST_REDIS_URL")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(fixture) = super::redis().await else { return };
                super::$case(fixture).await;
            })*
        }
    };
}

contract!(
    queued_tasks_run_once,
    failures_retry_with_backoff_until_success,
    the_last_failure_is_final_and_recorded,
    revoked_tasks_never_start_or_stop_early,
    a_job_whose_worker_dies_completes_on_another,
    tasks_are_bounded_and_emails_never_wait_behind_them,
);

/// A worker whose storage goes away heals when it comes back: its lanes restart by
/// themselves, and a job queued afterwards runs, with no restart of the process.
#[cfg_attr(
    gatehouse_no_redis_server,
    ignore = "needs redis-server on PATH (Debian package redis-server)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_recovers_when_its_storage_comes_back() {
    let Some(mut redis) = gatehouse_testing::OwnRedis::start().await else {
        return;
    };
    let mut fixture = sqlite().await;
    fixture.store = QueueStore::Redis {
        url: redis.url(),
        prefix: "recovery-test:".into(),
    };
    let queue = fixture.queue(3).await;
    let (_stop, worker) = fixture.worker(&queue, fixture.runner(Arc::default(), 3));
    tokio::time::sleep(Duration::from_millis(500)).await;
    redis.restart().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let id = fixture.submit(&queue, "add", json!({"x": 1, "y": 2})).await;
    let task = fixture
        .wait(id, Duration::from_secs(30), |t| t.status.is_final())
        .await;
    assert_eq!(task.status, TaskStatus::Success, "{task:?}");
    assert!(!worker.is_finished(), "the worker is still running");
}

/// Settings that would fail every run of a lane fail the worker at once: restarting a lane
/// cannot mend them, and a worker that quietly runs nothing looks alive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_with_impossible_settings_refuses_to_start() {
    let fixture = sqlite().await;
    let QueueStore::Database(url) = &fixture.store else {
        unreachable!("the SQLite fixture keeps its queue in the database");
    };
    let settings = QueueSettings {
        first_backoff: Duration::from_secs(600),
        max_backoff: Duration::from_secs(300),
        ..QueueSettings::default()
    };
    let queue = ApalisJobQueue::connect(url, settings).await.unwrap();
    let (_stop, worker) = fixture.worker(&queue, fixture.runner(Arc::default(), 3));
    let outcome = tokio::time::timeout(Duration::from_secs(5), worker).await;
    assert!(matches!(outcome, Ok(Ok(Err(_)))), "{outcome:?}");
}

/// The in-memory queue. With no storage to outlive the process, what is left of the contract
/// is delivery: each job once, in order, per lane, the lanes never waiting on each other; and
/// its worker runs jobs with the real `JobRunner`, as the apalis workers do above.
mod in_memory {
    use std::sync::Arc;
    use std::time::Duration;

    use gatehouse_application::ports::{JobLane, JobQueue, TaskRepository};
    use gatehouse_application::{Auditor, EmailJobs, EmailSettings, JobRunner, JobSettings};
    use gatehouse_domain::{Task, TaskId, TaskKind, TaskStatus};
    use gatehouse_memory::{
        InMemoryAuditLog, InMemoryEmailTokenStore, InMemoryJobQueue, InMemoryMailer,
        InMemoryTaskRepository, InMemoryUserRepository, SystemClock,
    };
    use serde_json::json;

    #[tokio::test]
    async fn each_lane_delivers_its_own_jobs_once_in_order() {
        let queue = InMemoryJobQueue::new();
        let (first, email, second) = (TaskId::generate(), TaskId::generate(), TaskId::generate());
        queue.enqueue(first, JobLane::Task).await.unwrap();
        queue.enqueue(email, JobLane::Email).await.unwrap();
        queue.enqueue(second, JobLane::Task).await.unwrap();
        assert_eq!(queue.pending(JobLane::Task).unwrap(), 2);
        // The email does not wait behind the tasks queued before it.
        assert_eq!(queue.next(JobLane::Email).await.unwrap(), email);
        assert_eq!(queue.try_next(JobLane::Email).unwrap(), None);
        assert_eq!(queue.next(JobLane::Task).await.unwrap(), first);
        assert_eq!(queue.next(JobLane::Task).await.unwrap(), second);
        assert_eq!(queue.try_next(JobLane::Task).unwrap(), None);
    }

    #[tokio::test]
    async fn a_waiting_worker_wakes_for_a_new_job() {
        let queue = Arc::new(InMemoryJobQueue::new());
        let waiting = tokio::spawn({
            let queue = queue.clone();
            async move { queue.next(JobLane::Task).await.unwrap() }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let id = TaskId::generate();
        queue.enqueue(id, JobLane::Task).await.unwrap();
        let woken = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert_eq!(woken.unwrap().unwrap(), id);
    }

    #[tokio::test]
    async fn queued_tasks_run_once_to_completion() {
        let tasks = Arc::new(InMemoryTaskRepository::new());
        let clock = Arc::new(SystemClock);
        let emails = EmailJobs::new(
            Arc::new(InMemoryUserRepository::new()),
            Arc::new(InMemoryEmailTokenStore::new()),
            Arc::new(InMemoryMailer::new()),
            Arc::new(Auditor::new(
                Arc::new(InMemoryAuditLog::new()),
                clock.clone(),
            )),
            clock.clone(),
            EmailSettings::default(),
        );
        let runner = JobRunner::new(
            tasks.clone(),
            Arc::new(emails),
            clock,
            JobSettings::default(),
        );
        let queue = Arc::new(InMemoryJobQueue::new());
        let task = Task::queued(
            None,
            TaskKind::Add,
            json!({"x": 1.5, "y": 2}),
            time::OffsetDateTime::now_utc(),
        );
        assert!(tasks.insert(&task, 10).await.unwrap());
        queue.enqueue(task.id, JobLane::Task).await.unwrap();
        let worker = tokio::spawn({
            let queue = queue.clone();
            async move { queue.work(JobLane::Task, &runner).await }
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let done = loop {
            let now = tasks.find(task.id).await.unwrap().unwrap();
            if now.status.is_final() || tokio::time::Instant::now() > deadline {
                break now;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        worker.abort();
        assert_eq!(done.status, TaskStatus::Success);
        assert_eq!(done.result, Some(json!(3.5)));
        assert_eq!(done.attempts, 1);
        assert_eq!(queue.pending(JobLane::Task).unwrap(), 0);
    }
}
