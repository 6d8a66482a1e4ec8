//! The use cases.

mod auth;
mod devices;
mod health;
mod sessions;
mod throttle;
mod tokens;
mod users;

pub use auth::{AuthService, ClientInfo, LoginIdentifier, LoginInput, LoginOutcome};
pub use devices::{DeviceService, DeviceView};
pub use health::{HealthReport, HealthService};
pub use sessions::{ActiveSession, SessionService, SessionSettings, StartedSession, session_key};
pub use throttle::{AddressAction, Throttle, ThrottleSettings};
pub use tokens::{Credential, Principal, TokenPair, TokenService, TokenSettings};
pub use users::{NewUserInput, UserService};

#[cfg(test)]
mod test_support;
