//! The ports: what the use cases need from the outside world, as traits. Each has a real
//! adapter and an in-memory one in `gatehouse-infrastructure`, and a mockall mock here (behind
//! the `mock` feature for other crates).

mod clock;
mod device_repository;
mod health;
mod password_hasher;
mod rate_limiter;
mod session_store;
mod token_codec;
mod token_store;
mod user_repository;

pub use clock::Clock;
pub use device_repository::DeviceRepository;
pub use health::HealthProbe;
pub use password_hasher::PasswordHasher;
pub use rate_limiter::{RateLimit, RateLimiter, RateStatus};
pub use session_store::{SessionKey, SessionRecord, SessionStore};
pub use token_codec::{TokenClaims, TokenCodec, TokenDecodeError, TokenKind};
pub use token_store::{RefreshFamily, Rotation, RotationRequest, TokenStore};
pub use user_repository::{InsertUserError, UserRepository};

#[cfg(any(test, feature = "mock"))]
pub use {
    clock::MockClock, device_repository::MockDeviceRepository, health::MockHealthProbe,
    password_hasher::MockPasswordHasher, rate_limiter::MockRateLimiter,
    session_store::MockSessionStore, token_codec::MockTokenCodec, token_store::MockTokenStore,
    user_repository::MockUserRepository,
};
