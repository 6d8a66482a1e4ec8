//! Verifies Gatehouse access tokens inside another Rust service, offline: the signature
//! against Gatehouse's published keys (its JWKS, fetched and cached), then the issuer,
//! audience, expiry and token type. Optionally (feature `revocation`) it also honours
//! Gatehouse's revocations by reading the keys Gatehouse writes to Redis, and (features
//! `actix`, `axum`) it offers an `Authenticated` extractor for either framework.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use gatehouse_verify::{Verifier, VerifierConfig};
//!
//! let config = VerifierConfig::new("https://auth.example.com", "https://auth.example.com", "gatehouse");
//! let verifier = Verifier::new(config)?;
//! let claims = verifier.verify("eyJhbGciOiJFZERTQSIs...").await?;
//! if claims.has_permission("can_view_users") {
//!     println!("{} may list users", claims.subject);
//! }
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod claims;
mod config;
mod error;
mod jwks;
mod verifier;

#[cfg(any(feature = "actix", feature = "axum"))]
mod extract;
#[cfg(feature = "revocation")]
mod revocation;

pub use claims::Claims;
pub use config::VerifierConfig;
pub use error::{ConfigError, VerifyError};
pub use verifier::Verifier;

#[cfg(any(feature = "actix", feature = "axum"))]
pub use extract::{Authenticated, Rejection};
#[cfg(feature = "revocation")]
pub use revocation::RedisRevocation;

#[cfg(feature = "revocation")]
pub use fred;
/// Re-exported so that callers name algorithms (and, with `revocation`, build a pool) with
/// the very versions this crate was built against.
pub use jsonwebtoken::Algorithm;
