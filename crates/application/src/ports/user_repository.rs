use async_trait::async_trait;
use gatehouse_domain::{Email, User, UserId, Username};

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

/// Persistent users.
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

    /// Saves every field of an existing user except its credit balance, which only the credit
    /// ledger moves. `false` when there is no such user.
    async fn update(&self, user: &User) -> anyhow::Result<bool>;

    /// Up to `request.fetch()` users from the request's position, in walk order (see
    /// [`PageRequest`]).
    async fn page(&self, request: &PageRequest) -> anyhow::Result<Vec<User>>;
}
