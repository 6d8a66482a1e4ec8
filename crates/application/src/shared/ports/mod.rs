//! The ports every capability uses: time, and the audit log.

mod audit_log;
mod clock;

pub use audit_log::{AuditEvent, AuditFilter, AuditLog};
pub use clock::Clock;

#[cfg(any(test, feature = "mock"))]
pub use {audit_log::MockAuditLog, clock::MockClock};
