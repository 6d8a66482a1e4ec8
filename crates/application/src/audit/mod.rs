//! Reading the audit trail: administrators page through recorded events. The trail is
//! written by every capability through [`crate::shared::Auditor`] (the writer and the
//! [`crate::shared::ports::AuditLog`] port live in `shared` because everything records).
//! Depends on `shared` and `accounts`.

pub mod queries;

pub use queries::{AuditQuery, AuditService, SignInCounts};
