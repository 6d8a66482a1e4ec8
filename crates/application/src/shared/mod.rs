//! What every capability shares: the request context ([`ClientInfo`], [`Principal`],
//! [`Credential`]), the one error type ([`AppError`]), cursor pagination, metrics counters,
//! the audit trail writer ([`Auditor`]) and the two ports everything needs ([`ports::Clock`],
//! [`ports::AuditLog`]). It depends on no capability.

pub mod audit_trail;
pub mod context;
pub mod counters;
pub mod error;
pub mod pagination;
pub mod ports;

pub use audit_trail::{AuditContext, Auditor};
pub use context::{ClientInfo, Credential, Principal, SessionKey, session_key};
pub use error::{AppError, ValidationErrors};
