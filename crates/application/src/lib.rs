//! Gatehouse application layer: the use cases and the ports they need.
//!
//! Services here speak only in domain types and port traits. Adapters (databases, Redis,
//! bcrypt, JWT, HTTP) live in other crates and plug in through [`ports`]. Every service returns
//! [`AppError`], which the HTTP layer maps to status codes in one place.

mod error;
pub mod pagination;
pub mod ports;
pub mod services;

pub use error::{AppError, ValidationErrors};
pub use pagination::{CursorCodec, Page};
pub use services::{
    ActiveSession, AddressAction, AuditContext, AuditQuery, AuditService, Auditor, AuthParts,
    AuthService, ClientInfo, CreateUserInput, Credential, CreditService, CreditStatement,
    DeviceService, DeviceView, HealthReport, HealthService, LoginIdentifier, LoginInput,
    LoginOutcome, NewUserInput, PasswordChange, PreRegistrationService, Principal, ProfileParts,
    ProfilePatch, ProfileService, Refreshed, Revocation, SessionService, SessionSettings,
    StartedSession, Throttle, ThrottleSettings, TokenPair, TokenService, TokenSettings,
    UserAdminService, UserPatch, UserService, session_key,
};
