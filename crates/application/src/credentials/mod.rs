//! Credentials: how a caller proves who they are and how those proofs end. Access and
//! refresh tokens ([`tokens`]), cookie sessions ([`sessions`]), revoking all of an account's
//! credentials at once ([`revocation`]), and the stores behind them, including the store of
//! one-time emailed tokens. Depends on `shared` only.

pub mod ports;
pub mod revocation;
pub mod sessions;
pub mod tokens;

pub use revocation::Revocation;
pub use sessions::{ActiveSession, SessionService, SessionSettings, StartedSession};
pub use tokens::{Refreshed, TokenPair, TokenService, TokenSettings};
