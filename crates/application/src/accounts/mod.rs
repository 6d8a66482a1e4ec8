//! Accounts: creating and reading users ([`users`]), who may do what ([`policy`]), the
//! administrators' user management ([`user_admin`]), a user's own profile, password and avatar
//! ([`profile`]), credits ([`credits`]), the devices an account signed in from ([`devices`]),
//! the pre-registration list ([`pre_registrations`]) and accounts imported from a Django
//! project ([`import`]), with the ports they store through.
//! Depends on `shared`, `credentials` (revoking an account's credentials) and `limits`.

pub mod cache;
pub mod credits;
pub mod devices;
pub mod import;
pub mod policy;
pub mod ports;
pub mod pre_registrations;
pub mod profile;
pub mod user_admin;
pub mod users;

pub use cache::{AccountCache, COPY_LIFETIME, VersionedUserRepository};
pub use credits::{CreditService, CreditStatement};
pub use devices::{DeviceService, DeviceView};
pub use import::{IMPORT_BATCH, ImportSummary, UserImport};
pub use pre_registrations::{PreRegistrationPage, PreRegistrationParts, PreRegistrationService};
pub use profile::{PasswordChange, ProfileParts, ProfilePatch, ProfileService};
pub use user_admin::{
    CreateUserInput, UserAdminParts, UserAdminService, UserCounts, UserPatch, UserView,
};
pub use users::{NewUserInput, UserService};
