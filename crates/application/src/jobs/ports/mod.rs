//! The task table, the job queue and the mailer.

mod job_queue;
mod mailer;
mod task_repository;

pub use job_queue::{JobLane, JobQueue};
pub use mailer::{EmailMessage, Mailer};
pub use task_repository::{TaskChange, TaskFilter, TaskRepository};

#[cfg(any(test, feature = "mock"))]
pub use {job_queue::MockJobQueue, mailer::MockMailer, task_repository::MockTaskRepository};
