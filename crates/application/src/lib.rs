//! Gatehouse application layer: the use cases and the ports they need.
//!
//! Services here speak only in domain types and port traits. Adapters (databases, Redis,
//! bcrypt, JWT, HTTP) live in other crates and plug in through [`ports`]. Every service returns
//! [`AppError`], which the HTTP layer maps to status codes in one place.

mod error;
pub mod ports;
pub mod services;

pub use error::{AppError, ValidationErrors};
pub use services::{
    ActiveSession, AddressAction, AuthService, ClientInfo, Credential, DeviceService, DeviceView,
    HealthReport, HealthService, LoginIdentifier, LoginInput, LoginOutcome, NewUserInput,
    Principal, SessionService, SessionSettings, StartedSession, Throttle, ThrottleSettings,
    TokenPair, TokenService, TokenSettings, UserService, session_key,
};
