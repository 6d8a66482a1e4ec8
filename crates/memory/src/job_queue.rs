use std::collections::VecDeque;
use std::time::Duration;

use async_trait::async_trait;
use gatehouse_application::ports::{JobLane, JobQueue};
use gatehouse_application::{JobFailure, JobRunner};
use gatehouse_domain::TaskId;
use tokio::sync::Notify;

use crate::locked::Locked;

#[derive(Default)]
struct Lanes {
    email: VecDeque<TaskId>,
    task: VecDeque<TaskId>,
}

impl Lanes {
    fn lane(&mut self, lane: JobLane) -> &mut VecDeque<TaskId> {
        match lane {
            JobLane::Email => &mut self.email,
            JobLane::Task => &mut self.task,
        }
    }
}

/// [`JobQueue`] in process memory: one first-in, first-out line per lane, popped by
/// [`next`](Self::next) (or run by [`work`](Self::work)). Jobs live as long as the process,
/// which is what "durable" can mean without storage; each is handed out once.
#[derive(Default)]
pub struct InMemoryJobQueue {
    lanes: Locked<Lanes>,
    email_ready: Notify,
    task_ready: Notify,
}

impl InMemoryJobQueue {
    /// Empty lanes.
    pub fn new() -> Self {
        Self::default()
    }

    fn ready(&self, lane: JobLane) -> &Notify {
        match lane {
            JobLane::Email => &self.email_ready,
            JobLane::Task => &self.task_ready,
        }
    }

    /// The oldest job waiting in `lane`, taken off the queue, if any.
    pub fn try_next(&self, lane: JobLane) -> anyhow::Result<Option<TaskId>> {
        self.lanes.with(|lanes| lanes.lane(lane).pop_front())
    }

    /// Waits for the next job in `lane` and takes it.
    pub async fn next(&self, lane: JobLane) -> anyhow::Result<TaskId> {
        loop {
            let ready = self.ready(lane).notified();
            if let Some(id) = self.try_next(lane)? {
                return Ok(id);
            }
            ready.await;
        }
    }

    /// How many jobs wait in `lane`.
    pub fn pending(&self, lane: JobLane) -> anyhow::Result<usize> {
        self.lanes.with(|lanes| lanes.lane(lane).len())
    }

    /// Runs the jobs of `lane` with `runner`, one at a time, until the calling task is
    /// aborted: the in-process worker. A run that asks to be retried runs again after a
    /// pause of 100 ms per attempt so far; the runner decides when a failure is final.
    pub async fn work(&self, lane: JobLane, runner: &JobRunner) -> anyhow::Result<()> {
        loop {
            let id = self.next(lane).await?;
            let mut attempt = 1;
            while let Err(failure) = runner.run(id, attempt).await {
                tracing::warn!(task = %id, attempt, %failure, "in-memory job failed");
                if matches!(failure, JobFailure::GiveUp(_)) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100) * attempt).await;
                attempt += 1;
            }
        }
    }
}

#[async_trait]
impl JobQueue for InMemoryJobQueue {
    async fn enqueue(&self, task: TaskId, lane: JobLane) -> anyhow::Result<()> {
        self.lanes.with(|lanes| lanes.lane(lane).push_back(task))?;
        self.ready(lane).notify_one();
        Ok(())
    }
}
