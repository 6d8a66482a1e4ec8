//! The ports: what the use cases need from the outside world, as traits. Each has a real
//! adapter and an in-memory one in `gatehouse-infrastructure`, and a mockall mock here (behind
//! the `mock` feature for other crates).

mod audit_log;
mod catalog;
mod clock;
mod credit_ledger;
mod device_repository;
mod email_token_store;
mod file_storage;
mod health;
mod job_queue;
mod mailer;
mod password_hasher;
mod pre_registrations;
mod rate_limiter;
mod session_store;
mod task_repository;
mod token_codec;
mod token_store;
mod user_repository;

pub use audit_log::{AuditEvent, AuditFilter, AuditLog};
pub use catalog::{
    CatalogWriteError, CategoryRepository, ProductFilter, ProductPosition, ProductRepository,
    ProductSortKey,
};
pub use clock::Clock;
pub use credit_ledger::{CreditEntry, CreditError, CreditLedger};
pub use device_repository::DeviceRepository;
pub use email_token_store::{EmailTokenStore, TokenPurpose};
pub use file_storage::{FileStorage, StoredFile};
pub use health::HealthProbe;
pub use job_queue::{JobLane, JobQueue};
pub use mailer::{EmailMessage, Mailer};
pub use password_hasher::PasswordHasher;
pub use pre_registrations::PreRegistrations;
pub use rate_limiter::{RateLimit, RateLimiter, RateStatus};
pub use session_store::{SessionKey, SessionRecord, SessionStore};
pub use task_repository::{TaskChange, TaskRepository};
pub use token_codec::{TokenClaims, TokenCodec, TokenDecodeError, TokenKind};
pub use token_store::{RefreshFamily, Rotation, RotationRequest, TokenStore};
pub use user_repository::{AccessFields, InsertUserError, ProfileChanges, UserRepository};

#[cfg(any(test, feature = "mock"))]
pub use {
    audit_log::MockAuditLog, catalog::MockCategoryRepository, catalog::MockProductRepository,
    clock::MockClock, credit_ledger::MockCreditLedger, device_repository::MockDeviceRepository,
    email_token_store::MockEmailTokenStore, file_storage::MockFileStorage, health::MockHealthProbe,
    job_queue::MockJobQueue, mailer::MockMailer, password_hasher::MockPasswordHasher,
    pre_registrations::MockPreRegistrations, rate_limiter::MockRateLimiter,
    session_store::MockSessionStore, task_repository::MockTaskRepository,
    token_codec::MockTokenCodec, token_store::MockTokenStore, user_repository::MockUserRepository,
};
