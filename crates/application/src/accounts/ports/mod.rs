//! Where accounts and what hangs off them are stored, and how passwords are hashed.

mod account_versions;
mod credit_ledger;
mod device_repository;
mod file_storage;
mod import_source;
mod password_hasher;
mod pre_registrations;
mod user_repository;

pub use account_versions::{AccountVersions, VERSIONS_REMEMBERED_FOR};
pub use credit_ledger::{CreditEntry, CreditError, CreditLedger};
pub use device_repository::DeviceRepository;
pub use file_storage::{FileStorage, StoredFile, is_safe_file_name};
pub use import_source::{ForeignAccount, ImportSource};
pub use password_hasher::PasswordHasher;
pub use pre_registrations::{PreRegistration, PreRegistrations};
pub use user_repository::{
    AccessFields, ImportWrite, InsertUserError, ProfileChanges, UserFilter, UserRepository,
};

#[cfg(any(test, feature = "mock"))]
pub use {
    account_versions::MockAccountVersions, credit_ledger::MockCreditLedger,
    device_repository::MockDeviceRepository, file_storage::MockFileStorage,
    import_source::MockImportSource, password_hasher::MockPasswordHasher,
    pre_registrations::MockPreRegistrations, user_repository::MockUserRepository,
};
