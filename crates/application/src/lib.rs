//! Gatehouse application layer: the use cases and the ports they need.
//!
//! Services here speak only in domain types and port traits. Adapters (databases, Redis,
//! bcrypt, JWT, HTTP) live in other crates and plug in through [`ports`]. Every service returns
//! [`AppError`], which the HTTP layer maps to status codes in one place.

mod counters;
mod error;
pub mod pagination;
pub mod ports;
pub mod services;

pub use counters::describe_metrics;
pub use error::{AppError, ValidationErrors};
pub use pagination::{CursorCodec, Page};
pub use services::{
    AccountEmail, AccountRecovery, ActiveSession, AddressAction, AuditContext, AuditQuery,
    AuditService, Auditor, AuthParts, AuthService, CatalogService, CategoryFields, ClientInfo,
    CreateUserInput, Credential, CreditService, CreditStatement, DeviceService, DeviceView,
    EmailJobs, EmailLimit, EmailOutbox, EmailSettings, HealthReport, HealthService, Housekeeping,
    HousekeepingSettings, JobFailure, JobRunner, JobSettings, LoginIdentifier, LoginInput,
    LoginOutcome, NewUserInput, PasswordChange, PasswordResetInput, PreRegistrationService,
    Principal, ProductFields, ProductQuery, ProfileParts, ProfilePatch, ProfileService, Recipient,
    RecoveryParts, Refreshed, Reservation, Revocation, SessionService, SessionSettings,
    StartedSession, Swept, TaskLimits, TaskService, Throttle, ThrottleSettings, TokenPair,
    TokenService, TokenSettings, UserAdminService, UserPatch, UserService, UserView, WriteMode,
    session_key,
};
