use std::collections::BTreeSet;

use async_trait::async_trait;
use gatehouse_domain::{
    Email, NotificationPreferences, PasswordHash, Permission, PhoneNumber, Role, SecurityStamp,
    User, UserId, Username,
};
use time::{Date, OffsetDateTime};

use crate::pagination::PageRequest;

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

/// The self-service part of an account: what `PATCH /users/me` owns and writes, and nothing
/// else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileFields {
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Contact number.
    pub phone_number: Option<PhoneNumber>,
    /// Date of birth.
    pub birth_date: Option<Date>,
    /// Optional emails.
    pub notifications: NotificationPreferences,
}

impl ProfileFields {
    /// The profile fields of `user`.
    pub fn of(user: &User) -> Self {
        Self {
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            phone_number: user.phone_number.clone(),
            birth_date: user.birth_date,
            notifications: user.notifications,
        }
    }
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

    /// Writes the profile fields of an active user. `false` when there is no such active
    /// user.
    async fn update_profile(
        &self,
        id: UserId,
        profile: &ProfileFields,
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

    /// Sets an active user's password hash and moves the stamp forward; with `expected`, only
    /// while the stored hash is still that one (compare-and-set: a password change that
    /// checked the current password loses to a reset or another change made meanwhile). The
    /// new stamp, or `None` when nothing was written.
    async fn set_password<'a>(
        &self,
        id: UserId,
        hash: &PasswordHash,
        expected: Option<&'a PasswordHash>,
        at: OffsetDateTime,
    ) -> anyhow::Result<Option<SecurityStamp>>;

    /// Writes role, permissions and active flag and moves the stamp forward, only while the
    /// stamp is still `expected` (compare-and-set). The new stamp, or `None` when the user
    /// is gone or changed meanwhile.
    async fn update_access(
        &self,
        id: UserId,
        access: &AccessFields,
        expected: SecurityStamp,
        at: OffsetDateTime,
    ) -> anyhow::Result<Option<SecurityStamp>>;

    /// Moves the stamp forward without changing anything else (sign out everywhere). The new
    /// stamp, or `None` when there is no such user.
    async fn bump_security_stamp(
        &self,
        id: UserId,
        at: OffsetDateTime,
    ) -> anyhow::Result<Option<SecurityStamp>>;

    /// Up to `request.fetch()` users from the request's position, in walk order (see
    /// [`PageRequest`]).
    async fn page(&self, request: &PageRequest) -> anyhow::Result<Vec<User>>;
}
