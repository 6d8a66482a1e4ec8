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
pub struct TotpEnrolment {
    /// The secret, base32.
    pub secret: SecretString,
    /// The `otpauth://` URI.
    pub otpauth_url: String,
    /// The URI as a QR code (SVG).
    pub qr_svg: String,
}

/// Never prints the secret (the URI and the QR code carry it too).
impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrolment(..)")
    }
}

/// A registered passkey, and the recovery codes issued with it when it is the account's
/// first factor (shown once).
#[derive(Debug)]
pub struct NewPasskey {
    /// The passkey.
    pub passkey: PasskeyView,
    /// Ten recovery codes, when none existed.
    pub recovery_codes: Option<Vec<SecretString>>,
}

/// A user's passkey registration in progress, kept in the challenge store under the user
/// (one at a time: a new start replaces it).
#[derive(Serialize, Deserialize)]
struct PendingRegistration {
    /// SHA-256 of the ceremony id handed to the client.
    challenge: String,
    state: String,
}

/// How recent a sign-in must be to add or remove a passkey (the contract asks no password
/// there): a stolen long-lived session, or a token of an old family, cannot plant a passkey
/// that outlives a password reset.
pub const RECENT_SIGN_IN: Duration = Duration::from_secs(15 * 60);

/// The most passkeys one account may register.
pub const MAX_PASSKEYS: usize = 10;

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
        // Counted once the password is right: a stale credential cannot spend the owner's.
        self.throttle.factor_change(user.id).await?;
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
        self.throttle.factor_change(user.id).await?;
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
        self.throttle.factor_change(user.id).await?;
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
        self.throttle.factor_change(user.id).await?;
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
        self.require_recent_sign_in(principal)?;
        self.throttle.factor_change(user.id).await?;
        let existing = self.store.passkeys(user.id).await?;
        if existing.len() >= MAX_PASSKEYS {
            return Err(too_many_passkeys());
        }
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
            challenge: sha256_hex(&id),
            state: state.0,
        };
        let value = serde_json::to_string(&pending).map_err(|e| AppError::Internal(e.into()))?;
        self.challenges
            .put(
                &registration_key(user.id),
                &value,
                self.settings.challenge_ttl,
            )
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
    ) -> Result<NewPasskey, AppError> {
        self.passkeys.available().map_err(passkey_error)?;
        let name = passkey_name(name)?;
        // No recent-sign-in check here: the ceremony exists only if its start passed one,
        // and it lives a few minutes; a user slow at their authenticator is not refused.
        let user = self.accounts.me(principal).await?;
        // Taken whatever follows: a ceremony is finished once, right or wrong.
        let pending = self
            .challenges
            .take(&registration_key(user.id))
            .await?
            .and_then(|raw| serde_json::from_str::<PendingRegistration>(&raw).ok())
            .filter(|pending| pending.challenge == sha256_hex(challenge_id))
            .ok_or_else(|| {
                invalid(
                    "challenge_id",
                    "no such registration in progress (it expired, was used or replaced)",
                )
            })?;
        let registered = self
            .passkeys
            .finish_registration(&CeremonyState(pending.state), credential)
            .map_err(|error| match error {
                PasskeyError::Rejected(_) => invalid("credential", "the credential was refused"),
                other => passkey_error(other),
            })?;
        if self.store.passkeys(user.id).await?.len() >= MAX_PASSKEYS {
            return Err(too_many_passkeys());
        }
        let now = self.clock.now();
        let passkey = StoredPasskey {
            id: Uuid::new_v4(),
            user: user.id,
            credential_id: registered.credential_id,
            name,
            passkey: registered.passkey,
            created_at: now,
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
        // The first factor of an account brings recovery codes, as an app's confirmation
        // does. The passkey is stored whatever happens here: a failure is logged, and the
        // owner can ask for codes later.
        let recovery_codes = match self.first_recovery_codes(user.id, now).await {
            Ok(codes) => codes,
            Err(error) => {
                tracing::error!(user = %user.id, error = %error, "no recovery codes with the first passkey");
                None
            }
        };
        Ok(NewPasskey {
            passkey: PasskeyView::from(&passkey),
            recovery_codes,
        })
    }

    /// Ten recovery codes for `user` when they have none and no authenticator app.
    async fn first_recovery_codes(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Option<Vec<SecretString>>, AppError> {
        let totp = self.store.totp(user).await?.is_some_and(|t| t.confirmed);
        if totp || self.store.recovery_codes_left(user).await? > 0 {
            return Ok(None);
        }
        let recovery = self.secrets.new_recovery_codes(user)?;
        self.store
            .replace_recovery_codes(user, &recovery.digests, now)
            .await?;
        Ok(Some(recovery.codes))
    }

    /// Removes one of the caller's passkeys. With no factor left, the recovery codes go too.
    pub async fn remove_passkey(&self, principal: &Principal, id: Uuid) -> Result<(), AppError> {
        let user = self.accounts.me(principal).await?;
        self.require_recent_sign_in(principal)?;
        self.throttle.factor_change(user.id).await?;
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
        // Listed even where passkeys are unavailable: whether a second factor is required
        // depends on the factors an account has, never on what works here (the WebAuthn
        // step then answers 503, and the sign-in waits for an instance where it works).
        if passkeys {
            methods.push("webauthn");
        }
        Ok(methods)
    }

    /// Refuses a change that needs a recent sign-in when the caller's is older than
    /// [`RECENT_SIGN_IN`].
    fn require_recent_sign_in(&self, principal: &Principal) -> Result<(), AppError> {
        if self.clock.now() - principal.authenticated_at > RECENT_SIGN_IN {
            return Err(AppError::RecentSignInRequired);
        }
        Ok(())
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

fn registration_key(user: UserId) -> String {
    format!("passkey-registration:{user}")
}

fn too_many_passkeys() -> AppError {
    AppError::Conflict {
        field: "credential",
        message: format!("an account has at most {MAX_PASSKEYS} passkeys; remove one first"),
    }
}

/// A passkey's name as its owner typed it, trimmed: 1 to 64 characters, none of them a
/// control character or a bidirectional override (it is shown in emails and lists).
fn passkey_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    // Controls, and the format, separator and private characters that hide or reorder text.
    let hidden = |c: char| {
        c.is_control()
            || matches!(c,
                '\u{00ad}' | '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}' | '\u{e000}'..='\u{f8ff}'
                | '\u{e0000}'..='\u{e007f}' | '\u{f0000}'..)
    };
    if name.is_empty() || name.chars().count() > PASSKEY_NAME_CHARS || name.chars().any(hidden) {
        return Err(invalid(
            "name",
            "give the passkey a name of 1 to 64 printable characters",
        ));
    }
    Ok(name.to_owned())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::factors::ports::{
        MockChallengeStore, MockFactorStore, MockPasskeyCeremonies, MockSecondFactorSecrets,
    };
    use crate::test_support::{NOW, bearer_principal};

    /// Second factors whose store has no passkey and whose ceremonies always start.
    fn factors() -> SecondFactors {
        let mut store = MockFactorStore::new();
        store.expect_passkeys().returning(|_| Ok(vec![]));
        let mut passkeys = MockPasskeyCeremonies::new();
        passkeys.expect_available().returning(|| Ok(()));
        passkeys
            .expect_start_registration()
            .returning(|_, _, _, _| Ok((serde_json::json!({}), CeremonyState("{}".into()))));
        let mut challenges = MockChallengeStore::new();
        challenges.expect_put().returning(|_, _, _| Ok(()));
        let base = crate::test_support::second_factors(
            Arc::new(MockFactorStore::new()),
            Arc::new(MockChallengeStore::new()),
        );
        SecondFactors {
            store: Arc::new(store),
            secrets: Arc::new(MockSecondFactorSecrets::new()),
            passkeys: Arc::new(passkeys),
            challenges: Arc::new(challenges),
            users: base.users.clone(),
            accounts: crate::test_support::any_active_account(),
            hasher: base.hasher.clone(),
            throttle: crate::test_support::permissive_throttle(),
            revocation: base.revocation.clone(),
            audit: crate::test_support::quiet_auditor(),
            outbox: crate::test_support::accepting_outbox(),
            clock: crate::test_support::fixed_clock(),
            settings: FactorSettings::default(),
        }
    }

    #[tokio::test]
    async fn a_passkey_needs_a_recent_sign_in() {
        let factors = factors();
        let mut principal = bearer_principal(gatehouse_domain::UserId::generate());
        principal.authenticated_at = NOW - RECENT_SIGN_IN;
        assert!(factors.start_passkey_registration(&principal).await.is_ok());
        principal.authenticated_at = NOW - RECENT_SIGN_IN - Duration::from_secs(1);
        let refused = factors.start_passkey_registration(&principal).await;
        assert!(
            matches!(refused, Err(AppError::RecentSignInRequired)),
            "{refused:?}"
        );
        let removal = factors.remove_passkey(&principal, Uuid::new_v4()).await;
        assert!(
            matches!(removal, Err(AppError::RecentSignInRequired)),
            "{removal:?}"
        );
    }

    #[test]
    fn passkey_names_are_printable_and_short() {
        assert_eq!(passkey_name("  Laptop  ").unwrap(), "Laptop");
        assert_eq!(passkey_name(&"é".repeat(64)).unwrap().chars().count(), 64);
        for bad in [
            "",
            "   ",
            "a\u{0}b",
            "a\nb",
            "x\u{202e}y",
            "x\u{2066}y",
            &"a".repeat(65),
        ] {
            assert!(passkey_name(bad).is_err(), "{bad:?}");
        }
    }
}
