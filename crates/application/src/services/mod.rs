//! The use cases.

mod audit;
mod auth;
mod catalog;
mod credits;
mod devices;
mod emails;
mod health;
mod housekeeping;
mod policy;
mod pre_registrations;
mod profile;
mod recovery;
mod revocation;
mod sessions;
mod tasks;
mod throttle;
mod tokens;
mod user_admin;
mod users;

pub use audit::{AuditContext, AuditQuery, AuditService, Auditor};
pub use auth::{AuthParts, AuthService, ClientInfo, LoginIdentifier, LoginInput, LoginOutcome};
pub use catalog::{CatalogService, CategoryFields, ProductFields, ProductQuery, WriteMode};
pub use credits::{CreditService, CreditStatement};
pub use devices::{DeviceService, DeviceView};
pub use emails::{AccountEmail, EmailJobs, EmailOutbox, EmailSettings, Recipient};
pub use health::{HealthReport, HealthService};
pub use housekeeping::{FINISHED_JOB_RETENTION, Housekeeping, HousekeepingSettings, Swept};
pub use pre_registrations::PreRegistrationService;
pub use profile::{PasswordChange, ProfileParts, ProfilePatch, ProfileService};
pub use recovery::{AccountRecovery, PasswordResetInput, RecoveryParts};
pub use revocation::Revocation;
pub use sessions::{ActiveSession, SessionService, SessionSettings, StartedSession, session_key};
pub use tasks::{JobFailure, JobRunner, JobSettings, TaskLimits, TaskService};
pub use throttle::{AddressAction, EmailLimit, Reservation, Throttle, ThrottleSettings};
pub use tokens::{Credential, Principal, Refreshed, TokenPair, TokenService, TokenSettings};
pub use user_admin::{CreateUserInput, UserAdminService, UserPatch, UserView};
pub use users::{NewUserInput, UserService};

#[cfg(test)]
mod test_support;
