//! Credentials: how a caller proves who they are and how those proofs end. Access and
//! refresh tokens ([`tokens`]), cookie sessions ([`sessions`]), revoking all of an account's
//! credentials at once ([`revocation`]), the keys tokens are signed with ([`signing_keys`]),
//! and the stores behind them, including the store of one-time emailed tokens. Depends on
//! `shared` only.

pub mod ports;
pub mod revocation;
pub mod sessions;
pub mod signing_keys;
pub mod tokens;

pub use revocation::Revocation;
pub use sessions::{ActiveSession, SessionService, SessionSettings, StartedSession};
pub use signing_keys::SigningKeys;
pub use tokens::{
    HeldRefresh, RefreshStanding, Refreshed, RotatedFamily, TokenPair, TokenService, TokenSettings,
};
