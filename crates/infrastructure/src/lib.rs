//! Gatehouse adapters: the real implementations of the application's ports (the in-memory
//! ones are in `gatehouse-memory`).
//!
//! - [`database`]: sea-orm on PostgreSQL or SQLite (the URL picks), migrations, health probe.
//! - [`redis`]: the shared fred connection pool, its health probe, and the token store,
//!   session store and rate limiter every instance shares through it.
//! - [`jwt`]: the token codec (JWT).
//! - [`signing`]: asymmetric signing keys (EdDSA, ES256, RS256) and the master key that seals
//!   them at rest.
//! - [`files`]: file storage (a local directory).
//! - [`jobs`]: the job queue and its workers (apalis on the app database).
//! - [`mail`]: mailers (SMTP, `.eml` files).
//! - [`BcryptHasher`]: password hashing on the blocking pool, with bounded concurrency; it
//!   also reads the hashes of accounts imported from Django ([`django_hashes`]).
//! - [`django`]: a Django project's user table read as an import source.

mod clock;
pub mod database;
pub mod django;
pub mod django_hashes;
pub mod files;
pub mod jobs;
pub mod jwt;
pub mod mail;
pub mod mfa;
mod password_hasher;
pub mod redis;
pub mod signing;

pub use clock::SystemClock;
pub use password_hasher::BcryptHasher;
