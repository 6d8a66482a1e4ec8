//! Enrolling and removing second factors: the owner's own (behind their password, and a code
//! to remove one), and an admin's reset of them all.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_domain::{AuditEventType, AuthMethod, User, UserId};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::policy::require_admin;
use crate::accounts::ports::{PasswordHasher, UserRepository};
use crate::accounts::users::UserService;
use crate::credentials::revocation::Revocation;
use crate::factors::ports::{
    CeremonyState, ChallengeStore, FactorStore, PasskeyCeremonies, PasskeyError,
    SecondFactorSecrets, StoredPasskey, TotpFactor,
};
use crate::jobs::emails::{AccountEmail, EmailOutbox, FactorChange, Recipient};
use crate::limits::throttle::Throttle;
use crate::shared::audit_trail::{AuditContext, Auditor};
use crate::shared::context::{ClientInfo, Principal, sha256_hex};
use crate::shared::error::{AppError, ValidationErrors};
use crate::shared::ports::Clock;

/// Second-factor settings.
#[derive(Debug, Clone)]
pub struct FactorSettings {
    /// The issuer shown in authenticator apps (the service's name).
    pub issuer: String,
    /// How long a sign-in challenge (`mfa_token`) and a WebAuthn ceremony live (5 minutes).
    pub challenge_ttl: Duration,
    /// Wrong codes that kill a challenge (5).
    pub wrong_codes_per_challenge: u32,
}

impl Default for FactorSettings {
    fn default() -> Self {
        Self {
            issuer: "Gatehouse".into(),
            challenge_ttl: Duration::from_secs(300),
            wrong_codes_per_challenge: 5,
        }
    }
}

/// The ports and services [`SecondFactors`] works with.
pub struct FactorParts {
    /// Where factors are kept.
    pub store: Arc<dyn FactorStore>,
    /// Seals secrets, computes codes.
    pub secrets: Arc<dyn SecondFactorSecrets>,
    /// WebAuthn ceremonies.
    pub passkeys: Arc<dyn PasskeyCeremonies>,
    /// Challenges and ceremonies between requests.
    pub challenges: Arc<dyn ChallengeStore>,
    /// Accounts, read at each step.
    pub users: Arc<dyn UserRepository>,
    /// The caller's account, as `me` reads it.
    pub accounts: Arc<UserService>,
    /// Checks the password that guards enrolment.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Wrong passwords and codes count against the account's login limit.
    pub throttle: Arc<Throttle>,
    /// Ends every credential on an admin's reset.
    pub revocation: Arc<Revocation>,
    /// Audit events of every change.
    pub audit: Arc<Auditor>,
    /// Emails the owner about every change.
    pub outbox: Arc<EmailOutbox>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Lifetimes and limits.
    pub settings: FactorSettings,
}

/// A user's second factors, as `GET /users/me/mfa` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactorStatus {
    /// Whether a confirmed authenticator app is required at sign-in.
    pub totp: bool,
    /// Registered passkeys.
    pub passkeys: Vec<PasskeyView>,
    /// Unused recovery codes.
    pub recovery_codes_left: u64,
}

/// A passkey as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyView {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// When it was registered.
    pub created_at: OffsetDateTime,
    /// When it last signed in.
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<&StoredPasskey> for PasskeyView {
    fn from(passkey: &StoredPasskey) -> Self {
        Self {
            id: passkey.id,
            name: passkey.name.clone(),
            created_at: passkey.created_at,
            last_used_at: passkey.last_used_at,
        }
    }
}

/// A started authenticator-app enrolment, shown once.
#[derive(Debug)]
pub struct TotpEnrolment {
    /// The secret, base32.
    pub secret: SecretString,
    /// The `otpauth://` URI.
    pub otpauth_url: String,
    /// The URI as a QR code (SVG).
    pub qr_svg: String,
}

/// A passkey registration in progress, kept in the challenge store.
#[derive(Serialize, Deserialize)]
struct PendingRegistration {
    user: Uuid,
    state: String,
}

/// The longest passkey name, in characters.
const PASSKEY_NAME_CHARS: usize = 64;

/// Second factors: enrolment, removal, reset, and (in [`crate::factors::challenge`]) the
/// sign-in step they add.
pub struct SecondFactors {
    pub(super) store: Arc<dyn FactorStore>,
    pub(super) secrets: Arc<dyn SecondFactorSecrets>,
    pub(super) passkeys: Arc<dyn PasskeyCeremonies>,
    pub(super) challenges: Arc<dyn ChallengeStore>,
    pub(super) users: Arc<dyn UserRepository>,
    accounts: Arc<UserService>,
    hasher: Arc<dyn PasswordHasher>,
    pub(super) throttle: Arc<Throttle>,
    revocation: Arc<Revocation>,
    pub(super) audit: Arc<Auditor>,
    outbox: Arc<EmailOutbox>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) settings: FactorSettings,
}

/// A random, URL-safe identifier for a challenge or ceremony (256 bits).
pub(super) fn random_id() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl SecondFactors {
    /// Second factors over `parts`.
    pub fn new(parts: FactorParts) -> Self {
        Self {
            store: parts.store,
            secrets: parts.secrets,
            passkeys: parts.passkeys,
            challenges: parts.challenges,
            users: parts.users,
            accounts: parts.accounts,
            hasher: parts.hasher,
            throttle: parts.throttle,
            revocation: parts.revocation,
            audit: parts.audit,
            outbox: parts.outbox,
            clock: parts.clock,
            settings: parts.settings,
        }
    }

    /// The caller's factors.
    pub async fn status(&self, principal: &Principal) -> Result<FactorStatus, AppError> {
        let user = self.accounts.me(principal).await?;
        let totp = self.store.totp(user.id).await?;
        let passkeys = self.store.passkeys(user.id).await?;
        Ok(FactorStatus {
            totp: totp.is_some_and(|t| t.confirmed),
            passkeys: passkeys.iter().map(PasskeyView::from).collect(),
            recovery_codes_left: self.store.recovery_codes_left(user.id).await?,
        })
    }

    /// Starts (or restarts) an authenticator-app enrolment behind the caller's password. It
    /// is not required at sign-in until [`Self::confirm_totp`]. 409 when one is confirmed
    /// already: remove it first.
    pub async fn start_totp(
        &self,
        principal: &Principal,
        password: &SecretString,
    ) -> Result<TotpEnrolment, AppError> {
        let user = self.accounts.me(principal).await?;
        self.check_password(&user, password, &principal.client)
            .await?;
        if self.store.totp(user.id).await?.is_some_and(|t| t.confirmed) {
            return Err(totp_enabled_already());
        }
        let new = self.secrets.new_totp(user.id, user.email.as_str())?;
        let now = self.clock.now();
        if !self
            .store
            .put_pending_totp(user.id, &new.sealed_secret, now)
            .await?
        {
            return Err(totp_enabled_already());
        }
        Ok(TotpEnrolment {
            secret: new.secret,
            otpauth_url: new.otpauth_url,
            qr_svg: new.qr_svg,
        })
    }

    /// Confirms the pending enrolment with a first code: from now on the app is required at
    /// sign-in. Returns ten new recovery codes (earlier ones die). A wrong code counts
    /// against the account's login limit.
    pub async fn confirm_totp(
        &self,
        principal: &Principal,
        code: &str,
    ) -> Result<Vec<SecretString>, AppError> {
        let user = self.accounts.me(principal).await?;
        let pending = match self.store.totp(user.id).await? {
            Some(totp) if totp.confirmed => return Err(totp_enabled_already()),
            Some(totp) => totp,
            None => {
                return Err(AppError::Conflict {
                    field: "code",
                    message: "no authenticator app enrolment was started".into(),
                });
            }
        };
        let attempt = self.reserve(&user, &principal.client).await?;
        let now = self.clock.now();
        let Some(step) = self
            .secrets
            .totp_step(user.id, &pending.sealed_secret, code, now)?
        else {
            return Err(invalid("code", "the code is not right"));
        };
        self.throttle.give_back(attempt).await;
        let recovery = self.secrets.new_recovery_codes(user.id)?;
        if !self
            .store
            .confirm_totp(
                user.id,
                &pending.sealed_secret,
                step,
                &recovery.digests,
                now,
            )
            .await?
        {
            return Err(AppError::changed_meanwhile("code"));
        }
        self.changed(&user, None, &principal.client, FactorChange::TotpEnabled)
            .await;
        Ok(recovery.codes)
    }

    /// Removes the authenticator app behind the password and a code (from the app, or a
    /// recovery code). With no passkey left, the recovery codes go too.
    pub async fn disable_totp(
        &self,
        principal: &Principal,
        password: &SecretString,
        code: &str,
    ) -> Result<(), AppError> {
        let user = self.accounts.me(principal).await?;
        let totp = self.store.totp(user.id).await?.filter(|t| t.confirmed);
        if totp.is_none() {
            return Err(AppError::NotFound("authenticator app"));
        }
        self.check_password_and_code(&user, password, code, totp.as_ref(), &principal.client)
            .await?;
        if !self.store.remove_totp(user.id).await? {
            return Err(AppError::NotFound("authenticator app"));
        }
        self.forget_orphan_recovery_codes(user.id).await?;
        self.changed(&user, None, &principal.client, FactorChange::TotpDisabled)
            .await;
        Ok(())
    }

    /// Replaces the caller's recovery codes, behind the password and a code; earlier codes
    /// die.
    pub async fn regenerate_recovery_codes(
        &self,
        principal: &Principal,
        password: &SecretString,
        code: &str,
    ) -> Result<Vec<SecretString>, AppError> {
        let user = self.accounts.me(principal).await?;
        let totp = self.store.totp(user.id).await?.filter(|t| t.confirmed);
        let passkeys = self.store.passkeys(user.id).await?;
        if totp.is_none() && passkeys.is_empty() {
            return Err(AppError::Conflict {
                field: "code",
                message: "recovery codes need a second factor; enable one first".into(),
            });
        }
        self.check_password_and_code(&user, password, code, totp.as_ref(), &principal.client)
            .await?;
        let recovery = self.secrets.new_recovery_codes(user.id)?;
        let now = self.clock.now();
        self.store
            .replace_recovery_codes(user.id, &recovery.digests, now)
            .await?;
        self.changed(
            &user,
            None,
            &principal.client,
            FactorChange::RecoveryCodesRegenerated,
        )
        .await;
        Ok(recovery.codes)
    }

    /// Starts registering a passkey for the caller: the ceremony's id and the creation
    /// options to hand to the browser.
    pub async fn start_passkey_registration(
        &self,
        principal: &Principal,
    ) -> Result<(String, serde_json::Value), AppError> {
        self.passkeys.available().map_err(passkey_error)?;
        let user = self.accounts.me(principal).await?;
        let existing = self.store.passkeys(user.id).await?;
        let exclude: Vec<Vec<u8>> = existing.into_iter().map(|p| p.credential_id).collect();
        let (options, state) = self
            .passkeys
            .start_registration(
                user.id,
                user.email.as_str(),
                user.username.as_str(),
                &exclude,
            )
            .map_err(passkey_error)?;
        let id = random_id();
        let pending = PendingRegistration {
            user: user.id.as_uuid(),
            state: state.0,
        };
        let value = serde_json::to_string(&pending).map_err(|e| AppError::Internal(e.into()))?;
        self.challenges
            .put(&registration_key(&id), &value, self.settings.challenge_ttl)
            .await?;
        Ok((id, options))
    }

    /// Finishes a registration the caller started: checks the authenticator's response and
    /// stores the passkey under `name`.
    pub async fn finish_passkey_registration(
        &self,
        principal: &Principal,
        challenge_id: &str,
        name: &str,
        credential: &serde_json::Value,
    ) -> Result<PasskeyView, AppError> {
        self.passkeys.available().map_err(passkey_error)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > PASSKEY_NAME_CHARS {
            return Err(invalid(
                "name",
                "give the passkey a name of 1 to 64 characters",
            ));
        }
        let user = self.accounts.me(principal).await?;
        let pending = self
            .challenges
            .take(&registration_key(challenge_id))
            .await?
            .and_then(|raw| serde_json::from_str::<PendingRegistration>(&raw).ok())
            .filter(|pending| pending.user == user.id.as_uuid())
            .ok_or_else(|| {
                invalid(
                    "challenge_id",
                    "no such registration in progress (it expired, or was used)",
                )
            })?;
        let registered = self
            .passkeys
            .finish_registration(&CeremonyState(pending.state), credential)
            .map_err(|error| match error {
                PasskeyError::Rejected(_) => invalid("credential", "the credential was refused"),
                other => passkey_error(other),
            })?;
        let passkey = StoredPasskey {
            id: Uuid::new_v4(),
            user: user.id,
            credential_id: registered.credential_id,
            name: name.to_owned(),
            passkey: registered.passkey,
            created_at: self.clock.now(),
            last_used_at: None,
        };
        if !self.store.add_passkey(&passkey).await? {
            return Err(AppError::Conflict {
                field: "credential",
                message: "this passkey is registered already".into(),
            });
        }
        self.changed(
            &user,
            None,
            &principal.client,
            FactorChange::PasskeyAdded {
                name: passkey.name.clone(),
            },
        )
        .await;
        Ok(PasskeyView::from(&passkey))
    }

    /// Removes one of the caller's passkeys. With no factor left, the recovery codes go too.
    pub async fn remove_passkey(&self, principal: &Principal, id: Uuid) -> Result<(), AppError> {
        let user = self.accounts.me(principal).await?;
        let name = self
            .store
            .passkeys(user.id)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .map(|p| p.name)
            .ok_or(AppError::NotFound("passkey"))?;
        if !self.store.remove_passkey(user.id, id).await? {
            return Err(AppError::NotFound("passkey"));
        }
        self.forget_orphan_recovery_codes(user.id).await?;
        self.changed(
            &user,
            None,
            &principal.client,
            FactorChange::PasskeyRemoved { name },
        )
        .await;
        Ok(())
    }

    /// An admin removes every factor of `user` (they lost their phone and their codes): the
    /// user is emailed, the reset audited, and every session and token of theirs ends, since
    /// whoever held them may be who the factor kept out.
    pub async fn reset(&self, admin: &Principal, user: UserId) -> Result<(), AppError> {
        let actor = self.accounts.me(admin).await?;
        require_admin(&actor)?;
        let account = self
            .users
            .find_by_id(user)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        self.store.remove_all(user).await?;
        let now = self.clock.now();
        if let Some(stamp) = self.users.bump_security_stamp(user, now).await? {
            self.revocation.everything(user, stamp).await?;
        }
        self.changed(
            &account,
            Some(admin.user_id),
            &admin.client,
            FactorChange::Reset,
        )
        .await;
        Ok(())
    }

    /// Seals again under the current master key every authenticator-app secret an older one
    /// sealed (after a master-key rotation); how many were. A secret that changed meanwhile
    /// (re-enrolled, removed) is left to its new value.
    pub async fn reseal_secrets(&self) -> Result<usize, AppError> {
        let mut resealed = 0;
        for (user, sealed) in self.store.sealed_totp_secrets().await? {
            let Some(new) = self.secrets.reseal_totp(user, &sealed)? else {
                continue;
            };
            if self.store.reseal_totp(user, &sealed, &new).await? {
                resealed += 1;
            }
        }
        Ok(resealed)
    }

    /// The second-factor methods `user` can sign in with now; empty when none is required.
    pub async fn required_methods(&self, user: UserId) -> Result<Vec<&'static str>, AppError> {
        let mut methods = Vec::new();
        if self.store.totp(user).await?.is_some_and(|t| t.confirmed) {
            methods.push("totp");
        }
        let passkeys = !self.store.passkeys(user).await?.is_empty();
        if (!methods.is_empty() || passkeys) && self.store.recovery_codes_left(user).await? > 0 {
            methods.push("recovery_code");
        }
        if passkeys {
            methods.push("webauthn");
        }
        Ok(methods)
    }

    /// Checks the password guarding a change, counted against the account's login limit
    /// before it is checked (a right one gives the attempt back).
    async fn check_password(
        &self,
        user: &User,
        password: &SecretString,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let attempt = self.reserve(user, client).await?;
        if !self
            .hasher
            .verify(password.expose_secret(), &user.password_hash)
            .await?
        {
            return Err(invalid("password", "the password is incorrect"));
        }
        self.throttle.give_back(attempt).await;
        Ok(())
    }

    /// The password and a code (app or recovery), under one reservation of the login limit.
    async fn check_password_and_code(
        &self,
        user: &User,
        password: &SecretString,
        code: &str,
        totp: Option<&TotpFactor>,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let attempt = self.reserve(user, client).await?;
        if !self
            .hasher
            .verify(password.expose_secret(), &user.password_hash)
            .await?
        {
            return Err(invalid("password", "the password is incorrect"));
        }
        if self.use_code(user.id, totp, code).await?.is_none() {
            return Err(invalid(
                "code",
                "the code is not right, or was used already",
            ));
        }
        self.throttle.give_back(attempt).await;
        Ok(())
    }

    pub(super) async fn reserve(
        &self,
        user: &User,
        client: &ClientInfo,
    ) -> Result<crate::limits::throttle::Reservation, AppError> {
        self.throttle
            .reserve_login(&user.id.to_string(), Some(user.id), client)
            .await
    }

    /// Accepts `code` once: an app code whose time step is newer than the last accepted
    /// one, or an unused recovery code (used up here). Which it was, or `None`.
    pub(super) async fn use_code(
        &self,
        user: UserId,
        totp: Option<&TotpFactor>,
        code: &str,
    ) -> Result<Option<AuthMethod>, AppError> {
        let code = code.trim();
        if let Some(totp) = totp.filter(|t| t.confirmed) {
            let now = self.clock.now();
            if let Some(step) = self
                .secrets
                .totp_step(user, &totp.sealed_secret, code, now)?
            {
                return Ok(self
                    .store
                    .accept_totp_step(user, step)
                    .await?
                    .then_some(AuthMethod::Otp));
            }
        }
        for digest in self.secrets.recovery_code_digests(user, code) {
            if self.store.use_recovery_code(user, &digest).await? {
                return Ok(Some(AuthMethod::RecoveryCode));
            }
        }
        Ok(None)
    }

    async fn forget_orphan_recovery_codes(&self, user: UserId) -> Result<(), AppError> {
        let totp = self.store.totp(user).await?.is_some_and(|t| t.confirmed);
        if !totp && self.store.passkeys(user).await?.is_empty() {
            let now = self.clock.now();
            self.store.replace_recovery_codes(user, &[], now).await?;
        }
        Ok(())
    }

    /// The audit event and the email that follow every change of `user`'s factors.
    async fn changed(
        &self,
        user: &User,
        actor: Option<UserId>,
        client: &ClientInfo,
        change: FactorChange,
    ) {
        let (event, data) = match &change {
            FactorChange::TotpEnabled => (AuditEventType::MfaEnabled, vec![]),
            FactorChange::TotpDisabled => (AuditEventType::MfaDisabled, vec![]),
            FactorChange::RecoveryCodesRegenerated => {
                (AuditEventType::RecoveryCodesRegenerated, vec![])
            }
            FactorChange::PasskeyAdded { name } => {
                (AuditEventType::PasskeyAdded, vec![("name", name.clone())])
            }
            FactorChange::PasskeyRemoved { name } => {
                (AuditEventType::PasskeyRemoved, vec![("name", name.clone())])
            }
            FactorChange::Reset => (AuditEventType::MfaReset, vec![]),
        };
        let context = AuditContext {
            user: Some(user.id),
            actor,
            client,
        };
        self.audit.record(event, context, &data).await;
        let email = AccountEmail::FactorChanged { change };
        if let Err(error) = self.outbox.queue(Recipient::User(user.id), email).await {
            tracing::error!(user = %user.id, error = %error, "factor change email not queued");
        }
    }
}

fn registration_key(id: &str) -> String {
    format!("passkey-registration:{}", sha256_hex(id))
}

fn totp_enabled_already() -> AppError {
    AppError::Conflict {
        field: "totp",
        message: "an authenticator app is enabled already; remove it first".into(),
    }
}

pub(super) fn invalid(field: &'static str, message: &str) -> AppError {
    let mut errors = ValidationErrors::new();
    errors.add(field, message);
    AppError::Validation(errors)
}

/// Passkeys that cannot work here are 503; a refused credential is a 400 or 401 by context.
pub(super) fn passkey_error(error: PasskeyError) -> AppError {
    match error {
        PasskeyError::Unavailable(reason) => {
            AppError::Unavailable(anyhow::anyhow!("passkeys: {reason}"))
        }
        PasskeyError::Rejected(_) => AppError::InvalidCredentials,
    }
}
