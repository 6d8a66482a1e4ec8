//! The job queue on apalis: the [`JobQueue`] adapter the request path pushes to, and the
//! worker loop that pops jobs and hands them to the [`JobRunner`].
//!
//! Storage follows the configuration: tables next to the app's own in its database (SQLite or
//! PostgreSQL), or Redis lists and sets under the deployment's key prefix.
//! Delivery is at least once: a job is locked by one worker, which sends heartbeats; when a
//! worker dies, another re-queues its jobs once the heartbeats stop. Failed runs are retried
//! in the worker with exponential backoff until the attempt limit.
//!
//! Two lanes, two queues: the service's own emails and clients' tasks. A worker runs both,
//! each with its own bounded number of slots, so a flood of tasks never delays an email and
//! never runs more than the configured number of jobs at once in one process.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use apalis::layers::retry::HasherRng;
use apalis::layers::retry::backoff::{ExponentialBackoffMaker, MakeBackoff};
use apalis::prelude::*;
use apalis_postgres::PostgresStorage;
use apalis_redis::RedisStorage;
use apalis_sqlite::SqliteStorage;
use async_trait::async_trait;
use gatehouse_application::ports::{JobLane, JobQueue};
use gatehouse_application::{JobFailure, JobRunner};
use gatehouse_domain::TaskId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What travels on the queue: only the task id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobMessage {
    task: Uuid,
}

/// The queue's name in its storage, by lane. (Tasks keep the name the single queue had, so
/// jobs queued before the lanes existed still run.)
fn queue_name(lane: JobLane) -> &'static str {
    match lane {
        JobLane::Task => "gatehouse-jobs",
        JobLane::Email => "gatehouse-emails",
    }
}

const LANES: [JobLane; 2] = [JobLane::Email, JobLane::Task];

/// The first pause before a failed lane is restarted; it doubles with each failure in a row,
/// up to [`RESTART_PAUSE_MAX`].
const RESTART_PAUSE: Duration = Duration::from_millis(500);
/// The longest pause between restarts of a failing lane.
const RESTART_PAUSE_MAX: Duration = Duration::from_secs(30);

/// How the queue behaves.
#[derive(Debug, Clone, Copy)]
pub struct QueueSettings {
    /// Runs per job, the first included.
    pub max_attempts: u32,
    /// Delay before the first retry; each further retry doubles it (with jitter).
    pub first_backoff: Duration,
    /// Longest delay between retries.
    pub max_backoff: Duration,
    /// How often an idle worker looks for new jobs.
    pub poll: Duration,
    /// How often a worker reports it is alive; a worker silent for two intervals is dead
    /// and its jobs are re-queued.
    pub heartbeat: Duration,
    /// Jobs one worker runs at once in each lane (`GATEHOUSE_JOB_CONCURRENCY`); it also
    /// fetches no more than that at a time, so it never holds jobs another worker could run.
    pub concurrency: usize,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            first_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            poll: Duration::from_millis(500),
            heartbeat: Duration::from_secs(15),
            concurrency: 4,
        }
    }
}

#[derive(Clone)]
enum Storage {
    Sqlite(SqliteStorage<JobMessage>),
    Postgres(PostgresStorage<JobMessage>),
    Redis(RedisStorage<JobMessage>),
}

/// What this process has done with jobs since it started: pushed, running now, and how the
/// runs it finished ended. Read by the metrics endpoint; each process counts its own.
#[derive(Debug, Default)]
pub struct JobCounters {
    queued: AtomicU64,
    running: AtomicU64,
    succeeded: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
}

/// A reading of [`JobCounters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JobCounts {
    /// Jobs pushed to the queue.
    pub queued: u64,
    /// Runs in progress.
    pub running: u64,
    /// Runs that finished the job (revoked and already-final tasks included).
    pub succeeded: u64,
    /// Runs that failed and left the job for another attempt.
    pub retried: u64,
    /// Runs that failed for good.
    pub failed: u64,
}

impl JobCounters {
    /// The counts now.
    pub fn read(&self) -> JobCounts {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        JobCounts {
            queued: load(&self.queued),
            running: load(&self.running),
            succeeded: load(&self.succeeded),
            retried: load(&self.retried),
            failed: load(&self.failed),
        }
    }

    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts a run as running for as long as it lives, even when the worker is cancelled.
struct RunningGuard(Arc<JobCounters>);

impl RunningGuard {
    fn start(counters: Arc<JobCounters>) -> Self {
        JobCounters::bump(&counters.running);
        Self(counters)
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a worker hands each delivery.
#[derive(Clone)]
struct WorkerContext {
    runner: Arc<JobRunner>,
    counters: Arc<JobCounters>,
}

/// The apalis-backed queue: one storage per lane. Cheap to clone; every clone pushes to the
/// same storages and counts into the same [`JobCounters`].
#[derive(Clone)]
pub struct ApalisJobQueue {
    emails: Storage,
    tasks: Storage,
    settings: QueueSettings,
    counters: Arc<JobCounters>,
}

impl ApalisJobQueue {
    /// Connects to the queue tables in the database at `url`, creating them if needed.
    pub async fn connect(url: &str, settings: QueueSettings) -> anyhow::Result<Self> {
        let batch = settings.concurrency.max(1);
        let heartbeat = settings.heartbeat;
        let lanes = if url.starts_with("sqlite:") {
            let pool = apalis_sqlite::SqlitePool::connect(url)
                .await
                .context("cannot open the SQLite job queue")?;
            SqliteStorage::setup(&pool)
                .await
                .context("cannot create the SQLite job queue tables")?;
            LANES.map(|lane| {
                let config = apalis_sqlite::Config::default()
                    .queue(queue_name(lane))
                    .batch_size(batch)
                    .heartbeat_interval(heartbeat)
                    .missed_heartbeats(2);
                Storage::Sqlite(SqliteStorage::new(&pool).with_config(config))
            })
        } else {
            let pool = apalis_postgres::PgPool::connect(url)
                .await
                .context("cannot open the PostgreSQL job queue")?;
            PostgresStorage::setup(&pool)
                .await
                .context("cannot create the PostgreSQL job queue tables")?;
            LANES.map(|lane| {
                let config = apalis_postgres::Config::default()
                    .queue(queue_name(lane))
                    .batch_size(batch)
                    .heartbeat_interval(heartbeat)
                    .missed_heartbeats(2);
                Storage::Postgres(PostgresStorage::new(&pool).with_config(config))
            })
        };
        Ok(Self::over(lanes, settings))
    }

    /// Connects to queues in Redis at `url`, their keys under `prefix`.
    pub async fn connect_redis(
        url: &str,
        prefix: &str,
        settings: QueueSettings,
    ) -> anyhow::Result<Self> {
        let connection = apalis_redis::connect(url)
            .await
            .context("cannot open the Redis job queue")?;
        let lanes = LANES.map(|lane| {
            let config = apalis_redis::Config::default()
                .queue(format!("{prefix}{}", queue_name(lane)))
                .batch_size(settings.concurrency.max(1))
                .heartbeat_interval(settings.heartbeat)
                .missed_heartbeats(2);
            Storage::Redis(RedisStorage::new(connection.clone()).with_config(config))
        });
        Ok(Self::over(lanes, settings))
    }

    fn over([emails, tasks]: [Storage; 2], settings: QueueSettings) -> Self {
        Self {
            emails,
            tasks,
            settings,
            counters: Arc::default(),
        }
    }

    fn storage(&self, lane: JobLane) -> &Storage {
        match lane {
            JobLane::Email => &self.emails,
            JobLane::Task => &self.tasks,
        }
    }

    /// This process's job counters.
    pub fn counters(&self) -> Arc<JobCounters> {
        self.counters.clone()
    }

    /// Runs one worker, both lanes, until `shutdown` resolves. A lane whose storage fails
    /// (a poll error ends an apalis worker) is restarted after a pause, under a new name,
    /// while the other lane goes on: the worker heals by itself when the storage comes back,
    /// as the API does, and the jobs the failed lane held go back to the queue once its
    /// heartbeats stop.
    pub async fn run_worker(
        &self,
        name: String,
        runner: Arc<JobRunner>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        // What would fail every run of a lane fails the worker instead, at once: restarting
        // cannot mend settings.
        self.backoff()?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let relay = tokio::spawn(async move {
            shutdown.await;
            let _ = stop.send(true);
        });
        let [emails, tasks] =
            LANES.map(|lane| self.supervise(&name, lane, runner.clone(), stopped.clone()));
        let (emails, tasks) = tokio::join!(emails, tasks);
        relay.abort();
        emails.and(tasks)
    }

    /// The retry backoff of the settings, or why the settings cannot make one.
    fn backoff(&self) -> anyhow::Result<ExponentialBackoffMaker<HasherRng>> {
        let s = self.settings;
        ExponentialBackoffMaker::new(s.first_backoff, s.max_backoff, 0.5, HasherRng::default())
            .context("invalid job backoff settings")
    }

    /// Runs `lane` until `stopped` turns true, restarting it whenever it ends before that.
    async fn supervise(
        &self,
        name: &str,
        lane: JobLane,
        runner: Arc<JobRunner>,
        mut stopped: tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        let mut pause = RESTART_PAUSE;
        for run in 0u64.. {
            let mut signal = stopped.clone();
            let shutdown = async move {
                let _ = signal.wait_for(|stop| *stop).await;
            };
            let started = std::time::Instant::now();
            // Apalis keeps a worker's name registered for a while: every run gets its own.
            let worker = format!("{name}-{}-{run}", queue_name(lane));
            let outcome = self.run_lane(worker, lane, runner.clone(), shutdown).await;
            if *stopped.borrow() {
                return outcome;
            }
            match &outcome {
                Ok(()) => tracing::error!(lane = queue_name(lane), "job lane stopped; restarting"),
                Err(error) => {
                    tracing::error!(
                        lane = queue_name(lane),
                        error = format!("{error:#}"),
                        "job lane failed; restarting"
                    )
                }
            }
            if started.elapsed() > RESTART_PAUSE_MAX {
                pause = RESTART_PAUSE;
            }
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = stopped.wait_for(|stop| *stop) => return Ok(()),
            }
            pause = (pause * 2).min(RESTART_PAUSE_MAX);
        }
        Ok(())
    }

    async fn run_lane(
        &self,
        name: String,
        lane: JobLane,
        runner: Arc<JobRunner>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let s = self.settings;
        let backoff = self.backoff()?.make_backoff();
        let retries =
            RetryPolicy::retries(s.max_attempts.saturating_sub(1) as usize).with_backoff(backoff);
        let context = WorkerContext {
            runner,
            counters: self.counters.clone(),
        };
        let signal = async move {
            shutdown.await;
            Ok::<(), std::io::Error>(())
        };
        macro_rules! run_on {
            ($storage:expr) => {
                WorkerBuilder::new(name)
                    .backend($storage.clone().poll_with_interval(s.poll))
                    .data(context)
                    .concurrency(s.concurrency.max(1))
                    .retry(retries)
                    .build(handle)
                    .run_until(signal)
                    .await
                    .context("the job worker stopped")
            };
        }
        match self.storage(lane) {
            Storage::Sqlite(storage) => run_on!(storage),
            Storage::Postgres(storage) => run_on!(storage),
            Storage::Redis(storage) => run_on!(storage),
        }
    }
}

/// One delivery of one job.
async fn handle(
    message: JobMessage,
    attempt: Attempt,
    context: Data<WorkerContext>,
) -> Result<(), BoxDynError> {
    let attempt = u32::try_from(attempt.current()).unwrap_or(u32::MAX).max(1);
    let counters = &context.counters;
    let _running = RunningGuard::start(counters.clone());
    match context
        .runner
        .run(TaskId::from_uuid(message.task), attempt)
        .await
    {
        Ok(()) => {
            JobCounters::bump(&counters.succeeded);
            Ok(())
        }
        Err(JobFailure::Retry(error)) => {
            JobCounters::bump(&counters.retried);
            Err(error.into())
        }
        Err(JobFailure::GiveUp(error)) => {
            JobCounters::bump(&counters.failed);
            Err(Box::new(AbortError::new(error)))
        }
    }
}

#[async_trait]
impl JobQueue for ApalisJobQueue {
    async fn enqueue(&self, task: TaskId, lane: JobLane) -> anyhow::Result<()> {
        let job = TaskBuilder::new(JobMessage {
            task: task.as_uuid(),
        })
        .max_attempts(self.settings.max_attempts as usize)
        .build();
        let refused = |e: &dyn std::fmt::Display| anyhow::anyhow!("cannot queue the job: {e}");
        macro_rules! push_to {
            ($storage:expr) => {
                $storage
                    .clone()
                    .push_task(job)
                    .await
                    .map_err(|e| refused(&e))
            };
        }
        match self.storage(lane) {
            Storage::Sqlite(storage) => push_to!(storage),
            Storage::Postgres(storage) => push_to!(storage),
            Storage::Redis(storage) => push_to!(storage),
        }?;
        JobCounters::bump(&self.counters.queued);
        Ok(())
    }
}
