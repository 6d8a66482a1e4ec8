//! A user's own account: the self-service profile fields, changing the password (which ends
//! every other credential) and the avatar.

use std::sync::Arc;

use gatehouse_domain::{
    AuditEventType, Avatar, AvatarError, AvatarFormat, PasswordPolicy, PhoneNumber, User,
    check_birth_date,
};
use secrecy::{ExposeSecret, SecretString};
use time::Date;

use crate::accounts::ports::{
    FileStorage, PasswordHasher, ProfileChanges, StoredFile, UserRepository,
};
use crate::accounts::users::UserService;
use crate::credentials::ports::{EmailTokenStore, TokenPurpose};
use crate::credentials::revocation::Revocation;
use crate::limits::throttle::Throttle;
use crate::shared::audit_trail::{AuditContext, Auditor};
use crate::shared::context::Principal;
use crate::shared::error::{AppError, ValidationErrors};
use crate::shared::ports::Clock;

/// `PATCH /users/me`: the self-service fields. `None`: leave as is; `Some(None)`: clear.
#[derive(Debug, Default)]
pub struct ProfilePatch {
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// E.164 number, or clear it.
    pub phone_number: Option<Option<String>>,
    /// Date of birth, or clear it.
    pub birth_date: Option<Option<Date>>,
    /// Security notices by email.
    pub security_emails: Option<bool>,
    /// Product news by email.
    pub product_emails: Option<bool>,
}

/// `POST /users/me/password`.
#[derive(Debug)]
pub struct PasswordChange {
    /// The password in use now.
    pub current_password: SecretString,
    /// The new one.
    pub new_password: SecretString,
    /// The new one again.
    pub new_password_confirm: SecretString,
}

/// The caller's own profile, password and avatar.
pub struct ProfileService {
    users: Arc<dyn UserRepository>,
    accounts: Arc<UserService>,
    hasher: Arc<dyn PasswordHasher>,
    files: Arc<dyn FileStorage>,
    revocation: Arc<Revocation>,
    throttle: Arc<Throttle>,
    audit: Arc<Auditor>,
    clock: Arc<dyn Clock>,
    policy: PasswordPolicy,
    email_tokens: Arc<dyn EmailTokenStore>,
    avatar_max_bytes: usize,
}

/// The ports and services [`ProfileService`] works with.
pub struct ProfileParts {
    /// Where accounts are read and their password hash and stamps written.
    pub users: Arc<dyn UserRepository>,
    /// Account lookups.
    pub accounts: Arc<UserService>,
    /// Checks offered passwords and hashes new ones.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Avatar files.
    pub files: Arc<dyn FileStorage>,
    /// Credential revocation.
    pub revocation: Arc<Revocation>,
    /// Guessing limits on the current password.
    pub throttle: Arc<Throttle>,
    /// Records sign-ins, failures and account changes.
    pub audit: Arc<Auditor>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Password rules.
    pub policy: PasswordPolicy,
    /// Emailed tokens: a password change kills outstanding reset links.
    pub email_tokens: Arc<dyn EmailTokenStore>,
    /// The largest avatar accepted, in bytes (`GATEHOUSE_AVATAR_MAX_BYTES`).
    pub avatar_max_bytes: usize,
}

impl ProfileService {
    /// The self-service account operations over the ports and services in `parts`.
    pub fn new(parts: ProfileParts) -> Self {
        Self {
            users: parts.users,
            accounts: parts.accounts,
            hasher: parts.hasher,
            files: parts.files,
            revocation: parts.revocation,
            throttle: parts.throttle,
            audit: parts.audit,
            clock: parts.clock,
            policy: parts.policy,
            email_tokens: parts.email_tokens,
            avatar_max_bytes: parts.avatar_max_bytes,
        }
    }

    /// The caller's own account, refused (`NotAuthenticated`) when it no longer allows the
    /// caller's credential.
    pub async fn me(&self, principal: &Principal) -> Result<User, AppError> {
        self.accounts.me(principal).await
    }

    /// Applies the given profile fields; nothing else about the account can change here, and
    /// only these fields are written.
    pub async fn update(
        &self,
        principal: &Principal,
        patch: ProfilePatch,
    ) -> Result<User, AppError> {
        let user = self.accounts.me(principal).await?;
        let mut errors = ValidationErrors::new();
        let today = self.clock.now().date();
        let mut name = |field, raw: Option<String>| {
            raw.map(|raw| {
                errors
                    .check(User::parse_name(field, &raw))
                    .unwrap_or_default()
            })
        };
        let first_name = name("first_name", patch.first_name);
        let last_name = name("last_name", patch.last_name);
        let phone_number = patch.phone_number.map(|raw| match raw {
            Some(raw) if !raw.trim().is_empty() => errors.check(PhoneNumber::parse(&raw)),
            _ => None,
        });
        let birth_date = patch
            .birth_date
            .map(|date| date.and_then(|d| errors.check(check_birth_date(d, today))));
        let changes = ProfileChanges {
            first_name,
            last_name,
            phone_number,
            birth_date,
            security_emails: patch.security_emails,
            product_emails: patch.product_emails,
        };
        errors.into_result()?;
        let now = self.clock.now();
        if !self.users.update_profile(user.id, &changes, now).await? {
            return Err(AppError::NotAuthenticated);
        }
        self.audit
            .record(
                AuditEventType::ProfileUpdated,
                AuditContext::own(user.id, &principal.client),
                &[],
            )
            .await;
        self.accounts.me(principal).await
    }

    /// Changes the password after checking the current one, then ends every other session
    /// and every token of the user (see [`Revocation::all_but_current`]). The check is an
    /// attempt against the account's login limit, counted before it is made, so this is no
    /// side door for guessing; and the new hash is written only while the stored hash is
    /// still the one that was checked, so a reset that lands meanwhile wins.
    pub async fn change_password(
        &self,
        principal: &Principal,
        change: PasswordChange,
    ) -> Result<(), AppError> {
        let user = self.accounts.me(principal).await?;
        let attempt = self
            .throttle
            .reserve_login(&user.id.to_string(), Some(user.id), &principal.client)
            .await?;
        let current_ok = self
            .hasher
            .verify(change.current_password.expose_secret(), &user.password_hash)
            .await?;
        let mut errors = ValidationErrors::new();
        if !current_ok {
            errors.add("current_password", "the current password is incorrect");
            return Err(AppError::Validation(errors));
        }
        self.throttle.give_back(attempt).await;
        let new = change.new_password.expose_secret();
        if new != change.new_password_confirm.expose_secret() {
            errors.add("new_password_confirm", "the two passwords do not match");
        }
        let password = self
            .policy
            .check(new, &user.email, &user.username)
            .map_err(|mut e| {
                e.field = "new_password";
                e
            });
        let password = errors.check(password);
        let Some(password) = password else {
            return Err(AppError::Validation(errors));
        };
        errors.into_result()?;
        let hash = self.hasher.hash(&password).await?;
        let now = self.clock.now();
        let written = self
            .users
            .set_password(user.id, &hash, Some(&user.password_hash), now)
            .await?;
        let Some(stamp) = written else {
            // Deactivated meanwhile (not authenticated any more), or the password changed.
            self.accounts.me(principal).await?;
            let mut stale = ValidationErrors::new();
            stale.add(
                "current_password",
                "the password was changed meanwhile; use the new one",
            );
            return Err(AppError::Validation(stale));
        };
        self.email_tokens
            .discard_all(user.id, TokenPurpose::PasswordReset)
            .await?;
        self.revocation.all_but_current(principal, stamp).await?;
        self.audit
            .record(
                AuditEventType::PasswordChanged,
                AuditContext::own(user.id, &principal.client),
                &[],
            )
            .await;
        Ok(())
    }

    /// Replaces the caller's avatar. The format comes from the bytes, never from the name
    /// or declared type of the upload.
    pub async fn set_avatar(
        &self,
        principal: &Principal,
        bytes: Vec<u8>,
    ) -> Result<User, AppError> {
        let user = self.accounts.me(principal).await?;
        let avatar = Avatar::inspect(bytes, self.avatar_max_bytes).map_err(|e| match e {
            AvatarError::TooLarge => AppError::PayloadTooLarge,
            AvatarError::UnsupportedType => AppError::UnsupportedMediaType(e.to_string()),
            AvatarError::Invalid(rule) => AppError::from(rule),
        })?;
        let format = avatar.format();
        // One file per user; the other formats' names are cleared so a switch from PNG to
        // JPEG leaves nothing behind.
        for other in [AvatarFormat::Png, AvatarFormat::Jpeg, AvatarFormat::Webp] {
            if other != format {
                self.files.delete(&avatar_name(&user, other)).await?;
            }
        }
        let url = self
            .files
            .put(
                &avatar_name(&user, format),
                avatar.bytes(),
                format.content_type(),
            )
            .await?;
        // The URL changes with every upload, so caches never serve the old picture.
        let now = self.clock.now();
        let version = now.unix_timestamp_nanos() / 1_000_000;
        let url = format!("{url}?v={version}");
        if !self.users.set_avatar_url(user.id, &url, now).await? {
            return Err(AppError::NotAuthenticated);
        }
        self.audit
            .record(
                AuditEventType::AvatarChanged,
                AuditContext::own(user.id, &principal.client),
                &[("format", format.extension().to_owned())],
            )
            .await;
        self.accounts.me(principal).await
    }

    /// A stored avatar, by its file name (`<user id>.<ext>`).
    pub async fn avatar_file(&self, file_name: &str) -> Result<StoredFile, AppError> {
        let valid = file_name.split_once('.').is_some_and(|(id, ext)| {
            uuid::Uuid::parse_str(id).is_ok() && ["png", "jpg", "webp"].contains(&ext)
        });
        if !valid {
            return Err(AppError::NotFound("file"));
        }
        self.files
            .get(&format!("avatars/{file_name}"))
            .await?
            .ok_or(AppError::NotFound("file"))
    }
}

fn avatar_name(user: &User, format: AvatarFormat) -> String {
    format!("avatars/{}.{}", user.id, format.extension())
}
