//! The sign-in step a second factor adds. A right password opens a challenge: a random
//! `mfa_token` (only its digest is stored, in the shared challenge store, so any instance can
//! finish it) bound to the account's security stamp and the client's user agent, living a few
//! minutes, good for one success and a handful of wrong codes. Passwordless passkey sign-in
//! keeps its ceremony in the same store.

use std::time::Duration;

use gatehouse_domain::{AuditEventType, AuthMethod, User, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::factors::enrolment::{SecondFactors, passkey_error, random_id};
use crate::factors::ports::{CeremonyState, PasskeyError};
use crate::limits::ports::RateLimit;
use crate::limits::throttle::AddressAction;
use crate::shared::audit_trail::AuditContext;
use crate::shared::context::{ClientInfo, sha256_hex};
use crate::shared::error::AppError;

/// A sign-in waiting for its second factor.
#[derive(Clone)]
pub struct MfaChallenge {
    /// The single-use token the second step presents.
    pub mfa_token: String,
    /// What this user can prove it with: `totp`, `recovery_code`, `webauthn`.
    pub methods: Vec<&'static str>,
    /// How long the token lives.
    pub expires_in: Duration,
}

/// Never prints the token.
impl std::fmt::Debug for MfaChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaChallenge")
            .field("methods", &self.methods)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// What a client offers at the second step.
#[derive(Clone)]
pub enum FactorProof {
    /// A code from the authenticator app, or a recovery code.
    Code(String),
    /// A WebAuthn assertion (`AuthenticationResponseJSON`).
    Credential(serde_json::Value),
}

/// Never prints the code.
impl std::fmt::Debug for FactorProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Code(_) => f.write_str("Code(..)"),
            Self::Credential(_) => f.write_str("Credential(..)"),
        }
    }
}

/// A sign-in whose every step succeeded: the account, and how it was proved.
#[derive(Debug, Clone)]
pub struct VerifiedSignIn {
    /// The account.
    pub user: User,
    /// The `amr` of the credentials to issue.
    pub methods: Vec<AuthMethod>,
}

/// A challenge as stored.
#[derive(Debug, Serialize, Deserialize)]
struct ChallengeRecord {
    user: Uuid,
    stamp: u64,
    /// SHA-256 of the user agent that passed the first step: the device it is bound to.
    agent: String,
    /// The `amr` of the first step.
    first: Vec<String>,
    /// Unix seconds.
    expires_at: i64,
}

/// How long an expired challenge is still remembered, to answer `token_expired` instead of
/// `token_invalid`.
const EXPIRED_GRACE: Duration = Duration::from_secs(600);

fn challenge_key(token: &str) -> String {
    format!("mfa:{}", sha256_hex(token))
}

fn assertion_key(challenge_key: &str) -> String {
    format!("{challenge_key}:webauthn")
}

fn sign_in_key(id: &str) -> String {
    format!("passkey-sign-in:{}", sha256_hex(id))
}

fn agent_digest(client: &ClientInfo) -> String {
    sha256_hex(client.user_agent.as_deref().unwrap_or(""))
}

impl SecondFactors {
    /// Opens a challenge for `user`, who passed `first`, when they have a second factor;
    /// `None` when they have none and the sign-in is complete.
    pub async fn open_challenge(
        &self,
        user: &User,
        first: AuthMethod,
        client: &ClientInfo,
    ) -> Result<Option<MfaChallenge>, AppError> {
        let methods = self.required_methods(user.id).await?;
        if methods.is_empty() {
            return Ok(None);
        }
        let ttl = self.settings.challenge_ttl;
        let token = random_id();
        let record = ChallengeRecord {
            user: user.id.as_uuid(),
            stamp: user.security_stamp.get(),
            agent: agent_digest(client),
            first: vec![first.as_str().to_owned()],
            expires_at: (self.clock.now() + ttl).unix_timestamp(),
        };
        let value = serde_json::to_string(&record).map_err(|e| AppError::Internal(e.into()))?;
        self.challenges
            .put(&challenge_key(&token), &value, ttl + EXPIRED_GRACE)
            .await?;
        Ok(Some(MfaChallenge {
            mfa_token: token,
            methods,
            expires_in: ttl,
        }))
    }

    /// WebAuthn request options for the second step of the challenge `mfa_token`, naming the
    /// user's passkeys.
    pub async fn assertion_options(
        &self,
        mfa_token: &str,
        client: &ClientInfo,
    ) -> Result<serde_json::Value, AppError> {
        self.passkeys.available().map_err(passkey_error)?;
        let key = challenge_key(mfa_token);
        let record = self.live_challenge(&key, client).await?;
        let user = UserId::from_uuid(record.user);
        let passkeys = self.stored_passkeys(user).await?;
        if passkeys.is_empty() {
            return Err(crate::factors::enrolment::invalid(
                "mfa_token",
                "this account has no passkey",
            ));
        }
        let (options, state) = self
            .passkeys
            .start_authentication(&passkeys)
            .map_err(passkey_error)?;
        let left = record.expires_at - self.clock.now().unix_timestamp();
        let ttl = Duration::from_secs(u64::try_from(left.max(1)).unwrap_or(1));
        self.challenges
            .put(&assertion_key(&key), &state.0, ttl)
            .await?;
        Ok(options)
    }

    /// The second step: checks `proof` against the challenge `mfa_token`. Each check is
    /// reserved first against the challenge's wrong-code budget (past it the challenge is
    /// dead: `token_invalid`) and the account's login limit (429); a right one gives the
    /// account's back and ends the challenge, so it succeeds once.
    pub async fn verify(
        &self,
        mfa_token: &str,
        proof: FactorProof,
        client: &ClientInfo,
    ) -> Result<VerifiedSignIn, AppError> {
        if matches!(proof, FactorProof::Credential(_)) {
            self.passkeys.available().map_err(passkey_error)?;
        }
        let key = challenge_key(mfa_token);
        let record = self.live_challenge(&key, client).await?;
        let user = match self
            .users
            .find_by_id(UserId::from_uuid(record.user))
            .await?
        {
            Some(user) if user.is_active && user.security_stamp.get() == record.stamp => user,
            _ => {
                // A new password, a deactivation or a sign-out everywhere since: start over.
                self.challenges.remove(&key).await?;
                return Err(AppError::TokenInvalid);
            }
        };
        let budget = RateLimit {
            limit: self.settings.wrong_codes_per_challenge,
            window: self.settings.challenge_ttl + EXPIRED_GRACE,
        };
        if !self.throttle.reserve_challenge_check(&key, budget).await? {
            self.challenges.remove(&key).await?;
            return Err(AppError::TokenInvalid);
        }
        let attempt = self.reserve(&user, client).await?;
        let method = match proof {
            FactorProof::Code(code) => {
                let totp = self.store.totp(user.id).await?;
                self.use_code(user.id, totp.as_ref(), &code).await?
            }
            FactorProof::Credential(credential) => {
                self.check_assertion(&key, user.id, &credential).await?
            }
        };
        let Some(method) = method else {
            self.refused(&user, client).await;
            return Err(AppError::InvalidCredentials);
        };
        if self.challenges.take(&key).await?.is_none() {
            // A concurrent second step with another right proof won the challenge.
            return Err(AppError::TokenInvalid);
        }
        self.throttle.give_back(attempt).await;
        let mut methods: Vec<AuthMethod> =
            record.first.iter().filter_map(|m| m.parse().ok()).collect();
        methods.push(method);
        Ok(VerifiedSignIn { user, methods })
    }

    /// Starts a passwordless sign-in: a ceremony id and request options for any
    /// discoverable passkey.
    pub async fn start_passkey_sign_in(
        &self,
        client: &ClientInfo,
    ) -> Result<(String, serde_json::Value), AppError> {
        self.passkeys.available().map_err(passkey_error)?;
        self.throttle
            .per_address(AddressAction::PasskeySignIn, client.address)
            .await?;
        let (options, state) = self.passkeys.start_discoverable().map_err(passkey_error)?;
        let id = random_id();
        self.challenges
            .put(&sign_in_key(&id), &state.0, self.settings.challenge_ttl)
            .await?;
        Ok((id, options))
    }

    /// Finishes a passwordless sign-in: the ceremony is used up whatever happens, the
    /// assertion must come from a passkey registered to the user it names, and a refused
    /// one counts against that account's login limit.
    pub async fn finish_passkey_sign_in(
        &self,
        challenge_id: &str,
        credential: &serde_json::Value,
        client: &ClientInfo,
    ) -> Result<VerifiedSignIn, AppError> {
        self.passkeys.available().map_err(passkey_error)?;
        let state = self
            .challenges
            .take(&sign_in_key(challenge_id))
            .await?
            .ok_or(AppError::TokenInvalid)?;
        let (handle, credential_id) = self
            .passkeys
            .identify(credential)
            .map_err(|_| AppError::InvalidCredentials)?;
        let passkey = self
            .store
            .passkey_by_credential(&credential_id)
            .await?
            .filter(|p| p.user.as_uuid() == handle)
            .ok_or(AppError::InvalidCredentials)?;
        let user = self
            .users
            .find_by_id(passkey.user)
            .await?
            .ok_or(AppError::InvalidCredentials)?;
        let attempt = self.reserve(&user, client).await?;
        let passkeys = self.stored_passkeys(user.id).await?;
        let proved =
            match self
                .passkeys
                .finish_discoverable(&CeremonyState(state), credential, &passkeys)
            {
                Ok(proved) => proved,
                Err(PasskeyError::Rejected(reason)) => {
                    tracing::info!(%reason, "passkey sign-in refused");
                    self.refused(&user, client).await;
                    return Err(AppError::InvalidCredentials);
                }
                Err(other) => return Err(passkey_error(other)),
            };
        self.throttle.give_back(attempt).await;
        if !user.is_active {
            return Err(AppError::AccountDisabled);
        }
        self.record_use(user.id, &proved.credential_id, proved.updated_passkey)
            .await?;
        Ok(VerifiedSignIn {
            user,
            methods: vec![AuthMethod::WebAuthn],
        })
    }

    /// The challenge under `key`, if it is live and this client's.
    async fn live_challenge(
        &self,
        key: &str,
        client: &ClientInfo,
    ) -> Result<ChallengeRecord, AppError> {
        let record = self
            .challenges
            .get(key)
            .await?
            .and_then(|raw| serde_json::from_str::<ChallengeRecord>(&raw).ok())
            .ok_or(AppError::TokenInvalid)?;
        if record.agent != agent_digest(client) {
            return Err(AppError::TokenInvalid);
        }
        if record.expires_at <= self.clock.now().unix_timestamp() {
            self.challenges.remove(key).await?;
            return Err(AppError::TokenExpired);
        }
        Ok(record)
    }

    /// Checks an assertion against the ceremony [`Self::assertion_options`] started for this
    /// challenge (used up here, right or wrong).
    async fn check_assertion(
        &self,
        key: &str,
        user: UserId,
        credential: &serde_json::Value,
    ) -> Result<Option<AuthMethod>, AppError> {
        let Some(state) = self.challenges.take(&assertion_key(key)).await? else {
            return Ok(None);
        };
        let passkeys = self.stored_passkeys(user).await?;
        match self
            .passkeys
            .finish_authentication(&CeremonyState(state), credential, &passkeys)
        {
            Ok(proved) => {
                self.record_use(user, &proved.credential_id, proved.updated_passkey)
                    .await?;
                Ok(Some(AuthMethod::WebAuthn))
            }
            Err(PasskeyError::Rejected(reason)) => {
                tracing::info!(%reason, "passkey assertion refused");
                Ok(None)
            }
            Err(other) => Err(passkey_error(other)),
        }
    }

    /// `user`'s passkeys as the WebAuthn adapter reads them.
    async fn stored_passkeys(&self, user: UserId) -> Result<Vec<String>, AppError> {
        let passkeys = self.store.passkeys(user).await?;
        Ok(passkeys.into_iter().map(|p| p.passkey).collect())
    }

    async fn record_use(
        &self,
        user: UserId,
        credential_id: &[u8],
        updated: Option<String>,
    ) -> Result<(), AppError> {
        let Some(passkey) = self
            .store
            .passkey_by_credential(credential_id)
            .await?
            .filter(|p| p.user == user)
        else {
            return Err(AppError::InvalidCredentials);
        };
        let now = self.clock.now();
        self.store.passkey_used(passkey.id, updated, now).await?;
        Ok(())
    }

    async fn refused(&self, user: &User, client: &ClientInfo) {
        self.audit
            .record(
                AuditEventType::MfaFailed,
                AuditContext::own(user.id, client),
                &[],
            )
            .await;
    }
}
