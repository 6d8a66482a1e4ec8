//! Gatehouse adapters: the real implementations of the application's ports (the in-memory
//! ones are in `gatehouse-memory`).
//!
//! - [`database`]: sea-orm on PostgreSQL or SQLite (the URL picks), migrations, health probe.
//! - [`redis`]: the shared fred connection pool and its health probe.
//! - [`tokens`]: the JWT codec and the Redis token store.
//! - [`sessions`]: the Redis session store.
//! - [`rate_limit`]: the Redis rate limiter.
//! - [`files`]: file storage (a local directory).
//! - [`jobs`]: the job queue and its workers (apalis on the app database).
//! - [`mail`]: mailers (SMTP, `.eml` files).
//! - [`BcryptHasher`]: password hashing on the blocking pool, with bounded concurrency.

mod clock;
pub mod database;
pub mod files;
mod hasher;
pub mod jobs;
pub mod mail;
pub mod rate_limit;
pub mod redis;
pub mod sessions;
pub mod tokens;

pub use clock::SystemClock;
pub use hasher::BcryptHasher;
