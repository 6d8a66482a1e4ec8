//! Email verification and password reset: the use cases behind the emailed links.

use std::sync::Arc;

use gatehouse_domain::{AuditEventType, Email, PasswordPolicy, User};
use secrecy::{ExposeSecret, SecretString};

use crate::ports::{Clock, EmailTokenStore, PasswordHasher, TokenPurpose, UserRepository};
use crate::services::audit::{AuditContext, Auditor};
use crate::services::emails::{AccountEmail, EmailOutbox, token_digest};
use crate::{AddressAction, AppError, ClientInfo, Revocation, Throttle, ValidationErrors};

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
    /// Now.
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
    /// Builds the service.
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
            user.is_verified = true;
            user.updated_at = p.clock.now();
            p.users.update(&user).await?;
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

    /// Queues another verification email, at most one per account per minute; unknown,
    /// deactivated and already verified addresses get the same answer and no email.
    pub async fn resend_verification(
        &self,
        email: &str,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let p = &self.parts;
        let Some(user) = self
            .account_for(email, AddressAction::ResendVerification, client)
            .await?
        else {
            return Ok(());
        };
        if user.is_verified || !p.throttle.allow_account_email(user.id).await? {
            return Ok(());
        }
        p.outbox.queue(user.id, AccountEmail::Verification).await
    }

    /// Queues a reset email for an active account; any other address gets the same answer
    /// and no email. Login throttling does not apply: a locked-out owner can still reset.
    pub async fn forgot_password(&self, email: &str, client: &ClientInfo) -> Result<(), AppError> {
        let p = &self.parts;
        let Some(user) = self
            .account_for(email, AddressAction::ForgotPassword, client)
            .await?
        else {
            return Ok(());
        };
        p.outbox.queue(user.id, AccountEmail::PasswordReset).await?;
        p.audit
            .record(
                AuditEventType::PasswordResetRequested,
                AuditContext::own(user.id, client),
                &[],
            )
            .await;
        Ok(())
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
        let mut user = match p.users.find_by_id(user).await? {
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
        user.password_hash = p.hasher.hash(&password).await?;
        user.updated_at = p.clock.now();
        p.users.update(&user).await?;
        p.tokens
            .discard_all(user.id, TokenPurpose::PasswordReset)
            .await?;
        p.revocation.everything(user.id).await?;
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

    /// Applies the per-address limit, then finds the active account of `email`.
    async fn account_for(
        &self,
        email: &str,
        action: AddressAction,
        client: &ClientInfo,
    ) -> Result<Option<User>, AppError> {
        let p = &self.parts;
        let email = Email::parse(email)?;
        p.throttle.per_address(action, client.address).await?;
        Ok(p.users
            .find_by_email(&email)
            .await?
            .filter(|user| user.is_active))
    }
}
