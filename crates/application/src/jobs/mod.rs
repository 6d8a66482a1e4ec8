//! Background jobs: clients' tasks ([`tasks`]), account emails queued on the request path and
//! rendered by workers ([`emails`]), the worker that runs a job and dispatches on its
//! [`gatehouse_domain::TaskKind`] ([`runner`]), and pruning of old records
//! ([`housekeeping`]), with the task table, job queue and mailer ports.
//!
//! Inside, the direction is `tasks <- emails <- runner`: the outbox queues through the task
//! service, and the runner calls the email sender; nothing points back.
//! Depends on `shared`, `credentials` (emailed tokens), `limits` and `accounts`.

pub mod emails;
pub mod housekeeping;
pub mod monitor;
pub mod ports;
pub mod runner;
pub mod tasks;

pub use emails::{AccountEmail, EmailJobs, EmailOutbox, EmailSettings, FactorChange, Recipient};
pub use housekeeping::{FINISHED_JOB_RETENTION, Housekeeping, HousekeepingSettings, Swept};
pub use monitor::{JobMonitor, JobMonitorParts, JobQuery};
pub use runner::{JobFailure, JobRunner, JobSettings};
pub use tasks::{TaskLimits, TaskService};
