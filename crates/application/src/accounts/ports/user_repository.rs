//! The user repository port: accounts, their profile and access fields, and the conditional
//! writes that keep concurrent changes from overwriting each other.

use std::collections::BTreeSet;

use async_trait::async_trait;
use gatehouse_domain::{
    Email, PasswordHash, Permission, PhoneNumber, Role, SecurityStamp, User, UserId, Username,
};
use time::{Date, OffsetDateTime};

use crate::shared::pagination::PageRequest;

/// Why a user could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    /// Another user has this email.
    #[error("email is taken")]
    EmailTaken,
    /// Another user has this username (ignoring case).
    #[error("username is taken")]
    UsernameTaken,
    /// The store failed.
    #[error(transparent)]
    Unavailable(#[from] anyhow::Error),
}

/// Which users a directory page holds: every filter that is `Some` must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct UserFilter {
    /// A piece of the email or the username, matched ignoring case (`%` and `_` are literal).
    pub search: Option<String>,
    /// Only users with this role.
    pub role: Option<Role>,
    /// Only active (or only deactivated) users.
    pub is_active: Option<bool>,
    /// Only verified (or only unverified) users.
    pub is_verified: Option<bool>,
}

/// One account write of an import (see [`UserRepository::import`]).
#[derive(Debug, Clone, PartialEq)]
pub enum ImportWrite {
    /// A new account, remembered as the one the source's `source_id` became.
    Insert {
        /// The account.
        user: User,
        /// The source's id for it.
        source_id: i64,
    },
    /// An account an earlier import created, given `user`'s names, password hash, role,
    /// permissions, active and verified flags, phone number and birth date (its id,
    /// email, username, credits, creation time and stamps stay), only while its stamp is
    /// still `expected` and its hash still `expected_hash` (what the import read).
    Update {
        /// The account as it should be.
        user: User,
        /// The stamp it had when the import read it.
        expected: SecurityStamp,
        /// The password hash it had when the import read it.
        expected_hash: PasswordHash,
        /// Role, permissions, the active flag or the password change: the stamp moves.
        access_changed: bool,
        /// Access is taken away (deactivated, demoted, a permission dropped, the password
        /// replaced): the revocation floor moves up to the new stamp, ending credentials.
        revokes: bool,
    },
}

/// A change to the self-service part of an account (`PATCH /users/me`): only the fields that
/// are `Some` are written, so two edits of different fields sent at once both stand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    /// New given name.
    pub first_name: Option<String>,
    /// New family name.
    pub last_name: Option<String>,
    /// New contact number, or `Some(None)` to clear it.
    pub phone_number: Option<Option<PhoneNumber>>,
    /// New date of birth, or `Some(None)` to clear it.
    pub birth_date: Option<Option<Date>>,
    /// Security notices by email.
    pub security_emails: Option<bool>,
    /// Product news by email.
    pub product_emails: Option<bool>,
}

/// What a user may do: what an admin's `PATCH /users/{id}` owns and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessFields {
    /// Admin or regular user.
    pub role: Role,
    /// Grants on top of the role.
    pub permissions: BTreeSet<Permission>,
    /// Whether the account may sign in at all.
    pub is_active: bool,
}

impl AccessFields {
    /// The access fields of `user`.
    pub fn of(user: &User) -> Self {
        Self {
            role: user.role,
            permissions: user.permissions.clone(),
            is_active: user.is_active,
        }
    }
}

/// Persistent users. Every write touches only the fields its use case owns, in one
/// statement, so concurrent writes of different fields never undo each other; writes that
/// change how the account signs in or what it may do move its [`SecurityStamp`] in that same
/// statement.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a new user; uniqueness of email and username is enforced by the store, so two
    /// concurrent registrations of one email cannot both succeed.
    async fn insert(&self, user: &User) -> Result<(), InsertUserError>;

    /// The user with this id.
    async fn find_by_id(&self, id: UserId) -> anyhow::Result<Option<User>>;

    /// The user with this (normalised) email.
    async fn find_by_email(&self, email: &Email) -> anyhow::Result<Option<User>>;

    /// The user with this username, ignoring case.
    async fn find_by_username(&self, username: &Username) -> anyhow::Result<Option<User>>;

    /// Stores many new users in as few statements as the store allows (seeding).
    async fn insert_many(&self, users: &[User]) -> Result<(), InsertUserError>;

    /// Writes the given profile fields of an active user, and only those. `false` when there
    /// is no such active user.
    async fn update_profile(
        &self,
        id: UserId,
        changes: &ProfileChanges,
        at: OffsetDateTime,
    ) -> anyhow::Result<bool>;

    /// Sets the avatar URL of an active user. `false` when there is no such active user.
    async fn set_avatar_url(
        &self,
        id: UserId,
        url: &str,
        at: OffsetDateTime,
    ) -> anyhow::Result<bool>;

    /// Marks an active user's email verified. `false` when there is no such active user.
    async fn mark_verified(&self, id: UserId, at: OffsetDateTime) -> anyhow::Result<bool>;

    /// Sets an active user's password hash and moves the stamp (and the revocation floor)
    /// forward; with `expected`, only while the stored hash is still that one
    /// (compare-and-set: a password change that checked the current password loses to a
    /// reset or another change made meanwhile). The new stamp, or `None` when nothing was
    /// written.
    async fn set_password<'a>(
        &self,
        id: UserId,
        hash: &PasswordHash,
        expected: Option<&'a PasswordHash>,
        at: OffsetDateTime,
    ) -> anyhow::Result<Option<SecurityStamp>>;

    /// Replaces a password hash by a stronger hash of the same password (an imported
    /// Django hash after its first successful check), only while the stored hash is still
    /// `expected`. The stamp does not move: the password, and every credential, stays good.
    /// `false` when nothing was written.
    async fn upgrade_password_hash(
        &self,
        id: UserId,
        hash: &PasswordHash,
        expected: &PasswordHash,
    ) -> anyhow::Result<bool>;

    /// Writes role, permissions and active flag and moves the stamp forward (and, for a
    /// deactivation, the revocation floor), only while the stamp is still `expected`
    /// (compare-and-set). The new stamp, or `None` when the user is gone or changed meanwhile.
    async fn update_access(
        &self,
        id: UserId,
        access: &AccessFields,
        expected: SecurityStamp,
        at: OffsetDateTime,
    ) -> anyhow::Result<Option<SecurityStamp>>;

    /// Moves the stamp and the revocation floor forward without changing anything else (sign
    /// out everywhere). The new stamp, or `None` when there is no such user.
    async fn bump_security_stamp(
        &self,
        id: UserId,
        at: OffsetDateTime,
    ) -> anyhow::Result<Option<SecurityStamp>>;

    /// Sets whether a user's email counts as verified, active or not (an admin's edit).
    /// `false` when there is no such user.
    async fn set_verified(
        &self,
        id: UserId,
        verified: bool,
        at: OffsetDateTime,
    ) -> anyhow::Result<bool>;

    /// The accounts earlier imports made of these source ids, with their source id.
    async fn imported(&self, source_ids: &[i64]) -> anyhow::Result<Vec<(i64, User)>>;

    /// Applies an import batch in one transaction: every write or none. A collision (email
    /// or username taken) or an account changed since it was read (stamp) fails the batch.
    async fn import(
        &self,
        writes: &[ImportWrite],
        at: OffsetDateTime,
    ) -> Result<(), InsertUserError>;

    /// Up to `request.fetch()` users matching `filter` from the request's position, in walk
    /// order (see [`PageRequest`]).
    async fn page(&self, filter: &UserFilter, request: &PageRequest) -> anyhow::Result<Vec<User>>;

    /// How many accounts exist, active or not; with `created_since`, only those created at
    /// or after it.
    async fn count(&self, created_since: Option<OffsetDateTime>) -> anyhow::Result<u64>;
}
