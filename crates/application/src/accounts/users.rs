//! Accounts themselves: registration under the password policy, the superuser, and reading the
//! caller's own account, which is also where a credential older than the account's revocation
//! floor is refused.

use std::collections::BTreeSet;
use std::sync::Arc;

use gatehouse_domain::{Email, PasswordPolicy, Permission, Role, User, UserId, Username};
use secrecy::{ExposeSecret, SecretString};

use crate::accounts::AccountCache;
use crate::accounts::ports::{InsertUserError, PasswordHasher, UserFilter, UserRepository};
use crate::shared::context::Principal;
use crate::shared::error::{AppError, ValidationErrors};
use crate::shared::pagination::PageRequest;
use crate::shared::ports::Clock;

/// What a client sends to create an account.
#[derive(Debug)]
pub struct NewUserInput {
    /// Email address, any case.
    pub email: String,
    /// Username.
    pub username: String,
    /// Chosen password.
    pub password: SecretString,
    /// The password again, to catch typos.
    pub password_confirm: SecretString,
    /// Optional given name.
    pub first_name: Option<String>,
    /// Optional family name.
    pub last_name: Option<String>,
}

/// Accounts: registration and the user's own record.
pub struct UserService {
    users: Arc<dyn UserRepository>,
    cache: Option<Arc<AccountCache>>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    policy: PasswordPolicy,
}

impl UserService {
    /// Accounts in `users`, passwords hashed by `hasher` under `policy`.
    pub fn new(
        users: Arc<dyn UserRepository>,
        hasher: Arc<dyn PasswordHasher>,
        clock: Arc<dyn Clock>,
        policy: PasswordPolicy,
    ) -> Self {
        Self {
            users,
            cache: None,
            hasher,
            clock,
            policy,
        }
    }

    /// Serves the caller's own account from `cache` (see [`AccountCache`]); `cache` must
    /// read the repository this service writes to, wrapped in a
    /// [`crate::accounts::VersionedUserRepository`] with the same versions.
    pub fn with_cache(mut self, cache: Arc<AccountCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// A page of the user directory (see [`UserRepository::page`]), from the cache when
    /// there is one.
    pub async fn directory_page(
        &self,
        filter: &UserFilter,
        request: &PageRequest,
    ) -> Result<Vec<User>, AppError> {
        Ok(match &self.cache {
            Some(cache) => cache.page(filter, request).await?,
            None => self.users.page(filter, request).await?,
        })
    }

    /// Says that `user`'s account changed outside the repository (its credits), so no
    /// instance serves a copy from before. Made after the change, it cannot fail it: a move
    /// the shared store refuses is retried in the background.
    pub async fn account_changed(&self, user: UserId) {
        if let Some(cache) = &self.cache {
            cache.changed(user).await;
        }
    }

    /// Self-service registration: a regular, unverified user.
    #[tracing::instrument(skip_all)]
    pub async fn register(&self, input: NewUserInput) -> Result<User, AppError> {
        self.create(input, Role::User, BTreeSet::new(), false).await
    }

    /// Creates an admin from the command line; the operator vouches for the address.
    #[tracing::instrument(skip_all)]
    pub async fn create_superuser(&self, input: NewUserInput) -> Result<User, AppError> {
        self.create(input, Role::Admin, BTreeSet::new(), true).await
    }

    /// The caller's own account, as the use cases act for it. A deactivated or deleted
    /// account yields nothing, and neither does a credential issued under a stamp below the
    /// account's revocation floor: the floor is kept with the account, so a credential the
    /// token or session store failed to revoke (it was down during a password reset, say)
    /// still dies here, on every request that reads the account.
    pub async fn me(&self, principal: &Principal) -> Result<User, AppError> {
        let user = match &self.cache {
            Some(cache) => cache
                .current(principal.user_id, principal.account_version)
                .await?
                .map(Arc::unwrap_or_clone),
            None => self.users.find_by_id(principal.user_id).await?,
        };
        match user {
            Some(user) if user.is_active && principal.stamp >= user.revoked_below => Ok(user),
            _ => Err(AppError::NotAuthenticated),
        }
    }

    /// The active user with this id, or `NotAuthenticated`.
    pub async fn active_user(&self, id: UserId) -> Result<User, AppError> {
        match self.users.find_by_id(id).await? {
            Some(user) if user.is_active => Ok(user),
            _ => Err(AppError::NotAuthenticated),
        }
    }

    /// Creates an account with this role and these grants; every field checked.
    pub(crate) async fn create(
        &self,
        input: NewUserInput,
        role: Role,
        permissions: BTreeSet<Permission>,
        is_verified: bool,
    ) -> Result<User, AppError> {
        let mut errors = ValidationErrors::new();
        let email = errors.check(Email::parse(&input.email));
        let username = errors.check(Username::parse(&input.username));
        let first_name = errors.check(User::parse_name(
            "first_name",
            input.first_name.as_deref().unwrap_or(""),
        ));
        let last_name = errors.check(User::parse_name(
            "last_name",
            input.last_name.as_deref().unwrap_or(""),
        ));
        let password = input.password.expose_secret();
        if password != input.password_confirm.expose_secret() {
            errors.add("password_confirm", "the two passwords do not match");
        }
        let password = match (&email, &username) {
            (Some(email), Some(username)) => {
                errors.check(self.policy.check(password, email, username))
            }
            _ => errors.check(self.policy.check_standalone(password)),
        };
        let (Some(email), Some(username), Some(first_name), Some(last_name), Some(password)) =
            (email, username, first_name, last_name, password)
        else {
            return Err(AppError::Validation(errors));
        };
        errors.into_result()?;

        let hash = self.hasher.hash(&password).await?;
        let mut user = User::register(email, username, hash, self.clock.now());
        user.first_name = first_name;
        user.last_name = last_name;
        user.role = role;
        user.permissions = permissions;
        user.is_verified = is_verified;
        self.users.insert(&user).await.map_err(|e| match e {
            InsertUserError::EmailTaken => AppError::Conflict {
                field: "email",
                message: "a user with this email already exists".into(),
            },
            InsertUserError::UsernameTaken => AppError::Conflict {
                field: "username",
                message: "a user with this username already exists".into(),
            },
            InsertUserError::Unavailable(e) => AppError::Unavailable(e),
        })?;
        tracing::info!(user = %user.id, "user created");
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::ports::{MockPasswordHasher, MockUserRepository};
    use crate::test_support::{bearer_principal, fixed_clock, sample_user};
    use gatehouse_domain::PasswordHash;

    fn input(email: &str, username: &str, password: &str, confirm: &str) -> NewUserInput {
        NewUserInput {
            email: email.into(),
            username: username.into(),
            password: password.into(),
            password_confirm: confirm.into(),
            first_name: Some(" Jane ".into()),
            last_name: None,
        }
    }

    fn hasher() -> MockPasswordHasher {
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("$2b$04$hash".into())));
        hasher
    }

    fn service(users: MockUserRepository, hasher: MockPasswordHasher) -> UserService {
        UserService::new(
            Arc::new(users),
            Arc::new(hasher),
            fixed_clock(),
            PasswordPolicy::default(),
        )
    }

    #[tokio::test]
    async fn register_normalises_and_stores_a_regular_unverified_user() {
        let mut users = MockUserRepository::new();
        users
            .expect_insert()
            .withf(|u| {
                u.email.as_str() == "jane@example.com"
                    && u.role == Role::User
                    && !u.is_verified
                    && u.first_name == "Jane"
            })
            .times(1)
            .returning(|_| Ok(()));
        let user = service(users, hasher())
            .register(input(
                "Jane@Example.com",
                "jane",
                "violet-tractor-42",
                "violet-tractor-42",
            ))
            .await
            .unwrap();
        assert_eq!(user.email.as_str(), "jane@example.com");
        assert_eq!(user.password_hash.as_str(), "$2b$04$hash");
    }

    #[tokio::test]
    async fn register_reports_every_invalid_field_and_stores_nothing() {
        let mut users = MockUserRepository::new();
        users.expect_insert().never();
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_hash().never();
        let err = service(users, hasher)
            .register(input("not-an-email", "x", "short", "other"))
            .await
            .unwrap_err();
        let AppError::Validation(errors) = err else {
            panic!("expected validation, got {err:?}")
        };
        let fields: Vec<_> = errors.fields().keys().copied().collect();
        assert_eq!(
            fields,
            vec!["email", "password", "password_confirm", "username"]
        );
    }

    #[tokio::test]
    async fn register_rejects_a_weak_password_for_valid_names() {
        let users = MockUserRepository::new();
        let err = service(users, MockPasswordHasher::new())
            .register(input("jane@example.com", "jane", "password", "password"))
            .await
            .unwrap_err();
        let AppError::Validation(errors) = err else {
            panic!("expected validation")
        };
        assert!(errors.fields().contains_key("password"));
    }

    #[tokio::test]
    async fn duplicate_email_is_a_conflict() {
        let mut users = MockUserRepository::new();
        users
            .expect_insert()
            .returning(|_| Err(InsertUserError::EmailTaken));
        let err = service(users, hasher())
            .register(input(
                "jane@example.com",
                "jane",
                "violet-tractor-42",
                "violet-tractor-42",
            ))
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::Conflict { field: "email", .. }));
    }

    #[tokio::test]
    async fn superusers_are_verified_admins() {
        let mut users = MockUserRepository::new();
        users.expect_insert().returning(|_| Ok(()));
        let user = service(users, hasher())
            .create_superuser(input(
                "root@example.com",
                "root",
                "violet-tractor-42",
                "violet-tractor-42",
            ))
            .await
            .unwrap();
        assert_eq!(user.role, Role::Admin);
        assert!(user.is_verified);
    }

    #[tokio::test]
    async fn me_refuses_a_deactivated_account() {
        let mut inactive = sample_user();
        inactive.is_active = false;
        let id = inactive.id;
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(inactive.clone())));
        let principal = bearer_principal(id);
        let err = service(users, MockPasswordHasher::new())
            .me(&principal)
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::NotAuthenticated));
    }

    /// The account keeps the revocation floor: a credential issued under an older stamp is
    /// refused even when no store revoked it; one under the floor's stamp is fine.
    #[tokio::test]
    async fn me_refuses_a_credential_below_the_accounts_revocation_floor() {
        let mut user = sample_user();
        user.security_stamp = gatehouse_domain::SecurityStamp::new(4);
        user.revoked_below = gatehouse_domain::SecurityStamp::new(3);
        let id = user.id;
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(user.clone())));
        let service = service(users, MockPasswordHasher::new());
        for (stamp, allowed) in [(2, false), (3, true), (4, true)] {
            let mut principal = bearer_principal(id);
            principal.stamp = gatehouse_domain::SecurityStamp::new(stamp);
            let me = service.me(&principal).await;
            assert_eq!(me.is_ok(), allowed, "stamp {stamp}: {me:?}");
            if !allowed {
                assert!(matches!(me, Err(AppError::NotAuthenticated)));
            }
        }
    }
}
