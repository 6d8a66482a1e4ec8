//! Every port in one place: what the use cases need from the outside world, as traits. Each
//! is owned by a capability (`accounts::ports`, `credentials::ports`, ...) and re-exported here
//! so adapters can implement them without knowing the layout. Each has a real adapter and an
//! in-memory one in `gatehouse-memory`, and a mockall mock here (behind the `mock`
//! feature for other crates).

pub use crate::accounts::ports::{
    AccessFields, AccountVersions, CreditEntry, CreditError, CreditLedger, DeviceRepository,
    FileStorage, ForeignAccount, ImportSource, ImportWrite, InsertUserError, PasswordHasher,
    PreRegistration, PreRegistrations, ProfileChanges, StoredFile, UserFilter, UserRepository,
    VERSIONS_REMEMBERED_FOR, is_safe_file_name,
};
pub use crate::catalog::ports::{
    CatalogWriteError, CategoryRepository, ProductFilter, ProductPosition, ProductRepository,
    ProductSortKey,
};
pub use crate::credentials::ports::{
    AccessGrant, AccessTokenCheck, EmailTokenStore, RefreshFamily, RefreshTokenState, Rotation,
    RotationRequest, SessionKey, SessionRecord, SessionStore, SigningKeyMaterial, SigningKeyStore,
    StoredSigningKey, TokenClaims, TokenCodec, TokenDecodeError, TokenKind, TokenPurpose,
    TokenStore,
};
pub use crate::factors::ports::{
    AuthenticatedPasskey, CeremonyState, ChallengeStore, FactorStore, NewRecoveryCodes, NewTotp,
    PasskeyCeremonies, PasskeyError, RegisteredPasskey, SecondFactorSecrets, StoredPasskey,
    TotpFactor,
};
pub use crate::health::ports::HealthProbe;
pub use crate::jobs::ports::{
    EmailMessage, JobLane, JobQueue, Mailer, TaskChange, TaskFilter, TaskRepository,
};
pub use crate::limits::ports::{RateLimit, RateLimiter, RateStatus};
pub use crate::shared::ports::{AuditEvent, AuditFilter, AuditLog, Clock};

#[cfg(any(test, feature = "mock"))]
pub use crate::accounts::ports::{
    MockAccountVersions, MockCreditLedger, MockDeviceRepository, MockFileStorage, MockImportSource,
    MockPasswordHasher, MockPreRegistrations, MockUserRepository,
};
#[cfg(any(test, feature = "mock"))]
pub use crate::catalog::ports::{MockCategoryRepository, MockProductRepository};
#[cfg(any(test, feature = "mock"))]
pub use crate::credentials::ports::{
    MockEmailTokenStore, MockSessionStore, MockSigningKeyMaterial, MockSigningKeyStore,
    MockTokenCodec, MockTokenStore,
};
#[cfg(any(test, feature = "mock"))]
pub use crate::factors::ports::{
    MockChallengeStore, MockFactorStore, MockPasskeyCeremonies, MockSecondFactorSecrets,
};
#[cfg(any(test, feature = "mock"))]
pub use crate::health::ports::MockHealthProbe;
#[cfg(any(test, feature = "mock"))]
pub use crate::jobs::ports::{MockJobQueue, MockMailer, MockTaskRepository};
#[cfg(any(test, feature = "mock"))]
pub use crate::limits::ports::MockRateLimiter;
#[cfg(any(test, feature = "mock"))]
pub use crate::shared::ports::{MockAuditLog, MockClock};
