//! Gatehouse application layer: the use cases and the ports they need.
//!
//! Services here speak only in domain types and port traits. Adapters (databases, Redis,
//! bcrypt, JWT, HTTP) live in other crates and plug in through [`ports`]. Every service returns
//! [`AppError`], which the HTTP layer maps to status codes in one place.
//!
//! # Layout
//!
//! The crate is grouped by capability; each capability module holds its services and the
//! port traits it owns (in its `ports` module), and [`ports`] re-exports every port.
//!
//! - [`shared`]: request context, errors, pagination, counters, the audit trail writer, and
//!   the clock and audit log ports.
//! - [`credentials`]: tokens, sessions, revocation; token, session and emailed-token stores.
//! - [`limits`]: the throttle against guessing and floods; the rate limiter port.
//! - [`accounts`]: users, policy, user administration, profile, credits, devices,
//!   pre-registrations; user, device, credit, pre-registration and file ports, password hashing.
//! - [`catalog`]: categories and products; their repositories.
//! - [`audit`]: reading the audit trail.
//! - [`jobs`]: client tasks, account emails, the job runner, housekeeping; task table, job
//!   queue and mailer ports.
//! - [`factors`]: second factors (authenticator app, recovery codes, passkeys) and the
//!   sign-in challenge they add; factor, secret, WebAuthn and challenge-store ports.
//! - [`identity`]: sign-up, login, sessions, logout, email verification, password reset.
//! - [`health`]: readiness; the health probe port.
//!
//! # Dependency direction
//!
//! Imports between capabilities go one way only (`a <- b`: `b` may import from `a`):
//!
//! ```text
//! shared <- credentials, limits <- accounts <- catalog, audit, jobs <- factors <- identity
//! shared <- health
//! ```
//!
//! Inside the crate, code imports through module paths (`crate::credentials::tokens::...`),
//! never through the re-exports at this root, which exist for other crates.

#![warn(missing_docs)]

pub mod accounts;
pub mod audit;
pub mod catalog;
pub mod credentials;
pub mod factors;
pub mod health;
pub mod identity;
pub mod jobs;
pub mod limits;
pub mod ports;
pub mod shared;

#[cfg(test)]
mod test_support;

pub use accounts::{
    AccountCache, CreateUserInput, CreditService, CreditStatement, DeviceService, DeviceView,
    ImportSummary, NewUserInput, PasswordChange, PreRegistrationPage, PreRegistrationParts,
    PreRegistrationService, ProfileParts, ProfilePatch, ProfileService, UserAdminParts,
    UserAdminService, UserCounts, UserImport, UserPatch, UserService, UserView,
    VersionedUserRepository,
};
pub use audit::{AuditQuery, AuditService, SignInCounts};
pub use catalog::{CatalogService, CategoryFields, ProductFields, ProductQuery, WriteMode};
pub use credentials::{
    ActiveSession, HeldRefresh, RefreshStanding, Refreshed, Revocation, RotatedFamily,
    SessionService, SessionSettings, SigningKeys, StartedSession, TokenPair, TokenService,
    TokenSettings,
};
pub use factors::{
    FactorParts, FactorProof, FactorSettings, FactorStatus, MfaChallenge, NewPasskey, PasskeyView,
    SecondFactors, TotpEnrolment, VerifiedSignIn,
};
pub use health::{HealthReport, HealthService};
pub use identity::{
    AccountRecovery, AuthParts, AuthService, CurrentSession, LoginIdentifier, LoginInput,
    LoginOutcome, PasswordResetInput, RecoveryParts, SignIn,
};
pub use jobs::{
    AccountEmail, EmailJobs, EmailOutbox, EmailSettings, FactorChange, Housekeeping,
    HousekeepingSettings, JobFailure, JobMonitor, JobMonitorParts, JobQuery, JobRunner,
    JobSettings, Recipient, Swept, TaskLimits, TaskService,
};
pub use limits::{AddressAction, EmailLimit, Reservation, Throttle, ThrottleSettings};
pub use shared::counters::describe_metrics;
pub use shared::pagination::{self, CursorCodec, Page};
pub use shared::{
    AppError, AuditContext, Auditor, ClientInfo, Credential, Principal, ValidationErrors,
    session_key,
};
