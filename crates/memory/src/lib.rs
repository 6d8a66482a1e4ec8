//! In-process, in-memory adapters for every port of `gatehouse-application`: for unit tests
//! of the services, for other Rust services that embed Gatehouse's use cases, and for
//! examples. Nothing here talks to a server; state lives as long as the adapter.
//!
//! Each adapter keeps the guarantees its port documents, as the production adapter does:
//! uniqueness (users, category names), compare-and-set writes (passwords, access, stamps),
//! atomic refresh rotation, keyset ordering identical to SQL's, a ledger that never goes below
//! zero, single-use emailed tokens, bounded open tasks. Each operation runs under one mutex
//! (never across an `.await`), which is what makes it atomic; adapters whose rules span two
//! ports share one lock ([`InMemoryCreditLedger`] with the [`InMemoryUserRepository`] it is
//! made from, [`InMemoryProductRepository`] with its [`InMemoryCategoryRepository`]).
//! The contract suites in `gatehouse-infrastructure`'s tests run every adapter here against
//! the same cases as the database, Redis and SMTP ones.
//!
//! Two adapters are not "memory" in the storage sense, and are honest about it:
//! - [`InMemoryPasswordHasher`] is real bcrypt (the `bcrypt` crate) on tokio's blocking
//!   pool, at a cost the embedder picks; no cryptography is written here.
//! - [`InMemoryFactorSecrets`] computes real RFC 6238 codes (`totp-rs`) but keeps secrets in
//!   memory instead of sealing them; [`NoPasskeys`] answers every WebAuthn ceremony
//!   "unavailable", since an embedding has no browser origin to be a relying party for.
//! - [`InMemoryTokenCodec`] issues random opaque tokens and keeps their claims in memory
//!   instead of signing JWTs: see its documentation for why and what it enforces.
//!
//! [`Embedded`] wires the adapters into the services an embedder needs to register users,
//! sign them in and check their tokens.

mod account_versions;
mod audit_log;
mod catalog;
mod challenge_store;
mod clock;
mod credit_ledger;
mod device_repository;
mod email_token_store;
mod embedded;
mod factor_secrets;
mod factor_store;
mod file_storage;
mod health_probe;
mod import_source;
mod job_queue;
mod keyset;
mod locked;
mod mailer;
mod password_hasher;
mod pre_registrations;
mod rate_limiter;
mod session_store;
mod signing_key_store;
mod task_repository;
mod token_codec;
mod token_store;
mod user_repository;

pub use account_versions::InMemoryAccountVersions;
pub use audit_log::InMemoryAuditLog;
pub use catalog::{InMemoryCategoryRepository, InMemoryProductRepository};
pub use challenge_store::InMemoryChallengeStore;
pub use clock::{ManualClock, SystemClock};
pub use credit_ledger::InMemoryCreditLedger;
pub use device_repository::InMemoryDeviceRepository;
pub use email_token_store::InMemoryEmailTokenStore;
pub use embedded::{Embedded, EmbeddedBuilder};
pub use factor_secrets::{InMemoryFactorSecrets, NoPasskeys};
pub use factor_store::InMemoryFactorStore;
pub use file_storage::InMemoryFileStorage;
pub use health_probe::InMemoryHealthProbe;
pub use import_source::InMemoryImportSource;
pub use job_queue::InMemoryJobQueue;
pub use mailer::InMemoryMailer;
pub use password_hasher::InMemoryPasswordHasher;
pub use pre_registrations::InMemoryPreRegistrations;
pub use rate_limiter::InMemoryRateLimiter;
pub use session_store::InMemorySessionStore;
pub use signing_key_store::InMemorySigningKeyStore;
pub use task_repository::InMemoryTaskRepository;
pub use token_codec::InMemoryTokenCodec;
pub use token_store::InMemoryTokenStore;
pub use user_repository::InMemoryUserRepository;
