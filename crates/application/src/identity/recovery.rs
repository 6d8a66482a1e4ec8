//! Email verification and password reset: the use cases behind the emailed links.

use std::sync::Arc;

use gatehouse_domain::{AuditEventType, Email, PasswordPolicy, User};
use secrecy::{ExposeSecret, SecretString};

use crate::accounts::ports::{PasswordHasher, UserRepository};
use crate::credentials::ports::{EmailTokenStore, TokenPurpose};
use crate::credentials::revocation::Revocation;
use crate::jobs::emails::{AccountEmail, EmailOutbox, Recipient};
use crate::limits::throttle::{AddressAction, EmailLimit, Throttle};
use crate::shared::audit_trail::{AuditContext, Auditor};
use crate::shared::context::{ClientInfo, token_digest};
use crate::shared::error::{AppError, ValidationErrors};
use crate::shared::ports::Clock;

/// What [`AccountRecovery`] is built from.
pub struct RecoveryParts {
    /// Accounts.
    pub users: Arc<dyn UserRepository>,
    /// Hashes new passwords.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Emailed token digests.
    pub tokens: Arc<dyn EmailTokenStore>,
    /// Queues the emails.
    pub outbox: Arc<EmailOutbox>,
    /// Per-address and per-user limits.
    pub throttle: Arc<Throttle>,
    /// Ends every credential after a reset.
    pub revocation: Arc<Revocation>,
    /// Records what happened.
    pub audit: Arc<Auditor>,
    /// The time token expiries are checked against.
    pub clock: Arc<dyn Clock>,
    /// The password rules.
    pub policy: PasswordPolicy,
}

/// A reset request: the emailed token and the new password, twice.
#[derive(Debug)]
pub struct PasswordResetInput {
    /// The token from the emailed link.
    pub token: SecretString,
    /// The new password.
    pub password: SecretString,
    /// The new password again.
    pub password_confirm: SecretString,
}

/// Email verification and password reset. The "send me an email" requests answer the same
/// way whether or not the address has an account.
pub struct AccountRecovery {
    parts: RecoveryParts,
}

impl AccountRecovery {
    /// Verification and password reset over the ports and services in `parts`.
    pub fn new(parts: RecoveryParts) -> Self {
        Self { parts }
    }

    /// Marks the account of a valid verification token verified; the token is used up.
    pub async fn verify_email(&self, token: &str, client: &ClientInfo) -> Result<User, AppError> {
        let p = &self.parts;
        let digest = token_digest(token);
        let user = p
            .tokens
            .consume(&digest, TokenPurpose::Verification, p.clock.now())
            .await?
            .ok_or(AppError::InvalidToken)?;
        let mut user = match p.users.find_by_id(user).await? {
            Some(user) if user.is_active => user,
            _ => return Err(AppError::InvalidToken),
        };
        if !user.is_verified {
            if !p.users.mark_verified(user.id, p.clock.now()).await? {
                return Err(AppError::InvalidToken);
            }
            user.is_verified = true;
            p.audit
                .record(
                    AuditEventType::EmailVerified,
                    AuditContext::own(user.id, client),
                    &[],
                )
                .await;
        }
        p.tokens
            .discard_all(user.id, TokenPurpose::Verification)
            .await?;
        Ok(user)
    }

    /// Queues another verification email, at most one per address per minute. Whether the
    /// address has an account, is verified or deactivated is for the worker to find out: every
    /// address costs this request the same work and gets the same answer.
    pub async fn resend_verification(
        &self,
        email: &str,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        self.queue_for_address(email, AccountEmail::Verification, client)
            .await
    }

    /// Queues a reset email, at most one per address per minute and a daily number; only an
    /// active account's address gets one, which the worker finds out. Every address costs
    /// this request the same work and gets the same answer. Login throttling does not apply:
    /// a locked-out owner can still reset.
    pub async fn forgot_password(&self, email: &str, client: &ClientInfo) -> Result<(), AppError> {
        let requested_from = client.address.map(|ip| ip.to_string());
        self.queue_for_address(
            email,
            AccountEmail::PasswordReset { requested_from },
            client,
        )
        .await
    }

    /// Applies the per-client limit of `message`'s request (429 past it) and its per-address
    /// limit (silent), then queues `message` for whichever account has `email`.
    async fn queue_for_address(
        &self,
        email: &str,
        message: AccountEmail,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let p = &self.parts;
        let email = Email::parse(email)?;
        let (action, limit) = match message {
            AccountEmail::PasswordReset { .. } => {
                (AddressAction::ForgotPassword, EmailLimit::PasswordReset)
            }
            _ => (AddressAction::ResendVerification, EmailLimit::Verification),
        };
        p.throttle.per_address(action, client.address).await?;
        if !p.throttle.allow_account_email(limit, &email).await? {
            return Ok(());
        }
        p.outbox.queue(Recipient::Address(email), message).await
    }

    /// Sets a new password with a valid reset token, then ends every session and token of
    /// the account and every other reset link. The password is checked before the token is
    /// used up, so a rejected password leaves the link working.
    pub async fn reset_password(
        &self,
        input: PasswordResetInput,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let p = &self.parts;
        let digest = token_digest(input.token.expose_secret());
        let now = p.clock.now();
        let user = p
            .tokens
            .find(&digest, TokenPurpose::PasswordReset, now)
            .await?
            .ok_or(AppError::InvalidToken)?;
        let user = match p.users.find_by_id(user).await? {
            Some(user) if user.is_active => user,
            _ => return Err(AppError::InvalidToken),
        };
        let mut errors = ValidationErrors::new();
        let password = input.password.expose_secret();
        if password != input.password_confirm.expose_secret() {
            errors.add("password_confirm", "the two passwords do not match");
        }
        let password = errors.check(p.policy.check(password, &user.email, &user.username));
        let Some(password) = password else {
            return Err(AppError::Validation(errors));
        };
        errors.into_result()?;
        if p.tokens
            .consume(&digest, TokenPurpose::PasswordReset, now)
            .await?
            .is_none()
        {
            return Err(AppError::InvalidToken);
        }
        let hash = p.hasher.hash(&password).await?;
        let stamp = p
            .users
            .set_password(user.id, &hash, None, p.clock.now())
            .await?
            .ok_or(AppError::InvalidToken)?;
        p.tokens
            .discard_all(user.id, TokenPurpose::PasswordReset)
            .await?;
        p.revocation.everything(user.id, stamp).await?;
        p.throttle
            .clear_login_failures(&user.id.to_string())
            .await?;
        p.audit
            .record(
                AuditEventType::PasswordReset,
                AuditContext::own(user.id, client),
                &[],
            )
            .await;
        Ok(())
    }
}
