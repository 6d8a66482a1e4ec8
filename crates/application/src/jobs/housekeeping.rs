//! What the workers do besides running jobs: keep what grows with traffic to its retention.

use std::sync::Arc;
use std::time::Duration;

use crate::jobs::ports::TaskRepository;
use crate::shared::error::AppError;
use crate::shared::ports::{AuditLog, Clock};

/// How long the service's own jobs (emails) are kept after they finish: long enough to see
/// why a delivery failed, short enough that the addresses and client addresses they name
/// (typed by anyone into forgot-password, account or not) do not pile up.
pub const FINISHED_JOB_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// How many rows one deleting statement removes, so none holds a long lock.
const BATCH: u64 = 5_000;

/// How long what grows is kept.
#[derive(Debug, Clone, Copy)]
pub struct HousekeepingSettings {
    /// Audit events (`GATEHOUSE_AUDIT_RETENTION_DAYS`, default 365 days).
    pub audit_retention: Duration,
}

impl Default for HousekeepingSettings {
    fn default() -> Self {
        Self {
            audit_retention: Duration::from_secs(365 * 24 * 3600),
        }
    }
}

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Swept {
    /// Audit events past their retention.
    pub audit_events: u64,
    /// The service's own jobs finished more than [`FINISHED_JOB_RETENTION`] ago.
    pub finished_jobs: u64,
}

/// Deletes what is past its retention. Workers sweep periodically; several sweeping at once
/// is harmless, each deletes what is still there.
pub struct Housekeeping {
    audit_log: Arc<dyn AuditLog>,
    tasks: Arc<dyn TaskRepository>,
    clock: Arc<dyn Clock>,
    settings: HousekeepingSettings,
}

impl Housekeeping {
    /// A sweeper pruning audit events past the retention in `settings` and the service's
    /// finished jobs past [`FINISHED_JOB_RETENTION`].
    pub fn new(
        audit_log: Arc<dyn AuditLog>,
        tasks: Arc<dyn TaskRepository>,
        clock: Arc<dyn Clock>,
        settings: HousekeepingSettings,
    ) -> Self {
        Self {
            audit_log,
            tasks,
            clock,
            settings,
        }
    }

    /// One sweep: audit events past `audit_retention`, then finished service jobs past
    /// [`FINISHED_JOB_RETENTION`], each a batch at a time.
    pub async fn sweep(&self) -> Result<Swept, AppError> {
        let now = self.clock.now();
        let events_before = now - self.settings.audit_retention;
        let jobs_before = now - FINISHED_JOB_RETENTION;
        // Each runs whatever the other did; the first failure is reported.
        let audit_events = in_batches(|batch| self.audit_log.prune(events_before, batch)).await;
        let finished_jobs =
            in_batches(|batch| self.tasks.prune_finished_jobs(jobs_before, batch)).await;
        Ok(Swept {
            audit_events: audit_events?,
            finished_jobs: finished_jobs?,
        })
    }
}

/// Repeats `delete(BATCH)` until a batch comes back short; the total.
async fn in_batches<F, Deleting>(delete: F) -> Result<u64, AppError>
where
    F: Fn(u64) -> Deleting,
    Deleting: Future<Output = anyhow::Result<u64>>,
{
    let mut total = 0;
    loop {
        let deleted = delete(BATCH).await?;
        total += deleted;
        if deleted < BATCH {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::ports::MockTaskRepository;
    use crate::shared::ports::MockAuditLog;
    use crate::test_support::{NOW, fixed_clock};

    #[tokio::test]
    async fn a_sweep_deletes_in_batches_until_one_comes_back_short() {
        let retention = Duration::from_secs(30 * 24 * 3600);
        let mut audit_log = MockAuditLog::new();
        let mut seq = mockall::Sequence::new();
        for deleted in [BATCH, BATCH, 7] {
            audit_log
                .expect_prune()
                .withf(move |before, batch| *before == NOW - retention && *batch == BATCH)
                .times(1)
                .in_sequence(&mut seq)
                .returning(move |_, _| Ok(deleted));
        }
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_prune_finished_jobs()
            .withf(|before, _| *before == NOW - FINISHED_JOB_RETENTION)
            .times(1)
            .returning(|_, _| Ok(2));
        let swept = Housekeeping::new(
            Arc::new(audit_log),
            Arc::new(tasks),
            fixed_clock(),
            HousekeepingSettings {
                audit_retention: retention,
            },
        )
        .sweep()
        .await
        .unwrap();
        assert_eq!(
            swept,
            Swept {
                audit_events: 2 * BATCH + 7,
                finished_jobs: 2,
            }
        );
    }
}
