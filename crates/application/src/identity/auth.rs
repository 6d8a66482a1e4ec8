//! Getting in and out: sign-up, password login (throttled, with a constant-cost answer for
//! unknown accounts), token refresh, cookie sessions, and logout from one or every client.

use std::sync::Arc;

use gatehouse_domain::{
    AuditEventType, AuthMethod, Device, Email, Password, SecurityStamp, User, UserId, Username,
};
use secrecy::{ExposeSecret, SecretString};

use crate::accounts::devices::DeviceService;
use crate::accounts::ports::{PasswordHasher, UserRepository};
use crate::accounts::users::{NewUserInput, UserService};
use crate::credentials::revocation::Revocation;
use crate::credentials::sessions::{SessionService, StartedSession};
use crate::credentials::tokens::{RefreshStanding, Refreshed, TokenPair, TokenService};
use crate::factors::{FactorProof, MfaChallenge, SecondFactors, VerifiedSignIn};
use crate::jobs::emails::{AccountEmail, EmailOutbox, Recipient};
use crate::limits::throttle::{AddressAction, Throttle};
use crate::shared::audit_trail::{AuditContext, Auditor};
use crate::shared::context::{ClientInfo, Credential, Principal, session_key, sha256_hex};
use crate::shared::counters;
use crate::shared::error::AppError;
use crate::shared::ports::Clock;

/// How the user names their account at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginIdentifier {
    /// By email address.
    Email(String),
    /// By username.
    Username(String),
}

/// A login attempt.
#[derive(Debug)]
pub struct LoginInput {
    /// Which account.
    pub identifier: LoginIdentifier,
    /// The password offered.
    pub password: SecretString,
    /// Who is asking.
    pub client: ClientInfo,
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    /// The account.
    pub user: User,
    /// Its new tokens.
    pub tokens: TokenPair,
}

/// What a password sign-in gives: the credentials, or, for an account with a second factor,
/// the challenge the second step answers.
#[derive(Debug, Clone)]
pub enum SignIn<T> {
    /// Signed in.
    Complete(T),
    /// The password was right; a second factor must follow.
    SecondFactor(MfaChallenge),
}

/// A signed-in browser's session as it checks it: whose it is and until when it lasts idle.
#[derive(Debug, Clone)]
pub struct CurrentSession {
    /// The account, as `me` reads it.
    pub user: User,
    /// When the session ends if left idle from now (never past its absolute cap).
    pub expires_at: time::OffsetDateTime,
    /// How the user proved themselves when it was opened (`amr`).
    pub methods: Vec<AuthMethod>,
}

/// Credentials in, tokens or a session out; and the ways they end.
pub struct AuthService {
    users: Arc<dyn UserRepository>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<TokenService>,
    sessions: Arc<SessionService>,
    accounts: Arc<UserService>,
    throttle: Arc<Throttle>,
    devices: Arc<DeviceService>,
    revocation: Arc<Revocation>,
    audit: Arc<Auditor>,
    outbox: Arc<EmailOutbox>,
    factors: Arc<SecondFactors>,
    clock: Arc<dyn Clock>,
}

/// The ports and services [`AuthService`] works with.
pub struct AuthParts {
    /// Where accounts are read and their password hash and stamps written.
    pub users: Arc<dyn UserRepository>,
    /// Checks offered passwords and hashes new ones.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Tokens.
    pub tokens: Arc<TokenService>,
    /// Cookie sessions.
    pub sessions: Arc<SessionService>,
    /// Sign-up and account checks.
    pub accounts: Arc<UserService>,
    /// Guessing limits.
    pub throttle: Arc<Throttle>,
    /// Devices signed in from.
    pub devices: Arc<DeviceService>,
    /// Ending every credential.
    pub revocation: Arc<Revocation>,
    /// Records sign-ins, failures and account changes.
    pub audit: Arc<Auditor>,
    /// Queues account emails (verification, new sign-in).
    pub outbox: Arc<EmailOutbox>,
    /// Second factors: the challenge after a password, and passkey sign-in.
    pub factors: Arc<SecondFactors>,
    /// The time every record and expiry is computed from.
    pub clock: Arc<dyn Clock>,
}

impl AuthService {
    /// Sign-up, login and logout over the ports and services in `parts`.
    pub fn new(parts: AuthParts) -> Self {
        Self {
            users: parts.users,
            hasher: parts.hasher,
            tokens: parts.tokens,
            sessions: parts.sessions,
            accounts: parts.accounts,
            throttle: parts.throttle,
            devices: parts.devices,
            revocation: parts.revocation,
            audit: parts.audit,
            outbox: parts.outbox,
            factors: parts.factors,
            clock: parts.clock,
        }
    }

    /// Self-service sign-up: a regular, unverified account (see [`UserService::register`]),
    /// within the per-address registration limit.
    pub async fn register(
        &self,
        input: NewUserInput,
        client: &ClientInfo,
    ) -> Result<User, AppError> {
        self.throttle
            .per_address(AddressAction::Register, client.address)
            .await?;
        let user = self.accounts.register(input).await?;
        self.audit
            .record(
                AuditEventType::UserRegistered,
                AuditContext::own(user.id, client),
                &[],
            )
            .await;
        // The account exists now; failing the request would only make a retry collide with
        // it. The user can ask for the email again.
        if let Err(error) = self
            .outbox
            .queue(Recipient::User(user.id), AccountEmail::Verification)
            .await
        {
            tracing::error!(user = %user.id, error = %error, "verification email not queued");
        }
        Ok(user)
    }

    /// Checks a password and returns the account it opens. An unknown account and a wrong
    /// password give the same error after the same work, so neither timing nor answer tells
    /// whether an account exists. The attempt is counted against the account's and the
    /// address's limits before the password is checked (a right password gives it back).
    #[tracing::instrument(skip_all)]
    pub async fn verify_credentials(&self, input: &LoginInput) -> Result<User, AppError> {
        let candidate = input.password.expose_secret();
        let account = self.find(&input.identifier).await?;
        let throttle_key = match &account {
            Some(user) => user.id.to_string(),
            None => unknown_account_key(&input.identifier),
        };
        let attempt = self
            .throttle
            .reserve_login(&throttle_key, account.as_ref().map(|u| u.id), &input.client)
            .await?;
        let verified = match &account {
            Some(user) => self.hasher.verify(candidate, &user.password_hash).await?,
            None => {
                self.hasher.verify_dummy(candidate).await?;
                false
            }
        };
        let Some(user) = account.clone().filter(|_| verified) else {
            // The reservation stays: this was a failure.
            tracing::info!(address = ?input.client.address, "login failed");
            let reason = match account {
                Some(_) => "wrong_password",
                None => "unknown_account",
            };
            self.audit_failure(&account, &input.client, reason).await;
            return Err(AppError::InvalidCredentials);
        };
        self.throttle.give_back(attempt).await;
        if !user.is_active {
            self.audit_failure(&Some(user), &input.client, "deactivated")
                .await;
            return Err(AppError::AccountDisabled);
        }
        Ok(self.upgrade_hash(user, candidate).await)
    }

    /// After an imported (Django) hash matched, stores the password in this service's own
    /// format, only while the old hash is still there (a reset meanwhile wins) and without
    /// moving the stamp (the password is the same). Best effort: a failure is logged and the
    /// sign-in goes on; the next one tries again.
    async fn upgrade_hash(&self, mut user: User, password: &str) -> User {
        // bcrypt reads 72 bytes: a longer password stays in its imported format rather
        // than be cut short.
        if !self.hasher.needs_upgrade(&user.password_hash) || password.len() > 72 {
            return user;
        }
        let new = match self.hasher.hash(&Password::proven(password)).await {
            Ok(new) => new,
            Err(error) => {
                tracing::warn!(user = %user.id, %error, "imported password hash not upgraded");
                return user;
            }
        };
        match self
            .users
            .upgrade_password_hash(user.id, &new, &user.password_hash)
            .await
        {
            Ok(true) => {
                tracing::info!(user = %user.id, "imported password hash upgraded");
                user.password_hash = new;
            }
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(user = %user.id, %error, "imported password hash not upgraded");
            }
        }
        user
    }

    /// After credentials were handed out for `user` as the sign-in read it, reads the
    /// account again. `Ok(None)`: nothing changed, the credentials stand. Otherwise they must
    /// be withdrawn, and the sign-in is either redone with the account as it is now
    /// (`Ok(Some(now))`: a role or permission change, the password still the one checked)
    /// or refused (a new password, a deactivation).
    ///
    /// Why this closes the race with a password reset or a deactivation: such a change
    /// writes the account (moving its stamp) before it revokes. If this read comes after that
    /// write, it sees the new stamp; if it comes before, the credentials were stored before
    /// the revocation, which ends them.
    async fn changed_since(&self, user: &User) -> Result<Option<User>, AppError> {
        match self.users.find_by_id(user.id).await? {
            Some(now) if now.security_stamp == user.security_stamp => Ok(None),
            Some(now) if !now.is_active => Err(AppError::AccountDisabled),
            Some(now) if now.password_hash == user.password_hash => Ok(Some(now)),
            _ => Err(AppError::InvalidCredentials),
        }
    }

    async fn audit_failure(&self, account: &Option<User>, client: &ClientInfo, reason: &str) {
        let context = AuditContext {
            user: account.as_ref().map(|u| u.id),
            actor: None,
            client,
        };
        self.audit
            .record(
                AuditEventType::LoginFailed,
                context,
                &[("reason", reason.to_owned())],
            )
            .await;
    }

    /// What follows every successful sign-in: the audit event, and a "new sign-in" email when
    /// the device is one the account has never used (but not for its very first device).
    async fn signed_in(&self, user: &User, client: &ClientInfo, method: &str, device: &Device) {
        self.audit_login(user, client, method, device).await;
        let unfamiliar = match self.devices.is_unfamiliar(device).await {
            Ok(unfamiliar) => unfamiliar,
            Err(error) => {
                tracing::warn!(error = %error, "cannot tell whether the device is new");
                false
            }
        };
        if unfamiliar {
            let email = AccountEmail::NewSignIn {
                user_agent: device.user_agent.clone(),
                ip: device.ip.clone(),
                at: device.first_seen_at,
            };
            if let Err(error) = self.outbox.queue(Recipient::User(user.id), email).await {
                tracing::error!(user = %user.id, error = %error, "new sign-in email not queued");
            }
        }
    }

    async fn audit_login(&self, user: &User, client: &ClientInfo, method: &str, device: &Device) {
        self.audit
            .record(
                AuditEventType::LoginSucceeded,
                AuditContext::own(user.id, client),
                &[
                    ("method", method.to_owned()),
                    ("device", device.id.to_string()),
                ],
            )
            .await;
    }

    /// Password login: a new refresh family and its first token pair, or, when the account
    /// has a second factor, the challenge for it.
    #[tracing::instrument(skip_all)]
    pub async fn login(&self, input: LoginInput) -> Result<SignIn<LoginOutcome>, AppError> {
        let result = self.token_login(&input).await;
        counters::login("token", &result);
        match result? {
            SignIn::Complete((outcome, device)) => {
                tracing::info!(user = %outcome.user.id, "login succeeded");
                self.signed_in(&outcome.user, &input.client, "token", &device)
                    .await;
                Ok(SignIn::Complete(outcome))
            }
            SignIn::SecondFactor(challenge) => Ok(SignIn::SecondFactor(challenge)),
        }
    }

    async fn token_login(
        &self,
        input: &LoginInput,
    ) -> Result<SignIn<(LoginOutcome, Device)>, AppError> {
        let user = self.verify_credentials(input).await?;
        if let Some(challenge) = self.challenge(&user, &input.client).await? {
            return Ok(SignIn::SecondFactor(challenge));
        }
        let methods = vec![AuthMethod::Password];
        let (outcome, device) = self.issue_tokens(user, &input.client, methods).await?;
        // A factor enabled while this sign-in ran: it must not get past it.
        if let Some(challenge) = self.challenge(&outcome.user, &input.client).await? {
            self.tokens.withdraw(&outcome.tokens).await?;
            return Ok(SignIn::SecondFactor(challenge));
        }
        Ok(SignIn::Complete((outcome, device)))
    }

    async fn challenge(
        &self,
        user: &User,
        client: &ClientInfo,
    ) -> Result<Option<MfaChallenge>, AppError> {
        self.factors
            .open_challenge(user, AuthMethod::Password, client)
            .await
    }

    /// The second step of a token login: checks `proof` against the challenge `mfa_token`
    /// and signs in with both methods.
    #[tracing::instrument(skip_all)]
    pub async fn complete_login(
        &self,
        mfa_token: &str,
        proof: FactorProof,
        client: &ClientInfo,
    ) -> Result<LoginOutcome, AppError> {
        let verified = self.factors.verify(mfa_token, proof, client).await;
        self.finish_token_sign_in(verified, client, "mfa").await
    }

    /// Passwordless sign-in with a discoverable passkey: the ceremony `challenge_id` began
    /// and its `credential`.
    #[tracing::instrument(skip_all)]
    pub async fn passkey_login(
        &self,
        challenge_id: &str,
        credential: &serde_json::Value,
        client: &ClientInfo,
    ) -> Result<LoginOutcome, AppError> {
        let verified = self
            .factors
            .finish_passkey_sign_in(challenge_id, credential, client)
            .await;
        self.finish_token_sign_in(verified, client, "passkey").await
    }

    async fn finish_token_sign_in(
        &self,
        verified: Result<VerifiedSignIn, AppError>,
        client: &ClientInfo,
        method: &'static str,
    ) -> Result<LoginOutcome, AppError> {
        let result = match verified {
            Ok(verified) => {
                self.issue_tokens(verified.user, client, verified.methods)
                    .await
            }
            Err(refused) => Err(refused),
        };
        counters::login(method, &result);
        let (outcome, device) = result?;
        self.signed_in(&outcome.user, client, method, &device).await;
        Ok(outcome)
    }

    /// A new refresh family for `user` on the client's device, proved by `methods`.
    async fn issue_tokens(
        &self,
        user: User,
        client: &ClientInfo,
        methods: Vec<AuthMethod>,
    ) -> Result<(LoginOutcome, Device), AppError> {
        let device = self.devices.record_sign_in(user.id, client).await?;
        let issue = async |user: &User| {
            self.tokens
                .issue_new_family(user, Some(device.id), methods.clone())
                .await
        };
        let withdraw = async |tokens: &TokenPair| self.tokens.withdraw(tokens).await;
        let (user, tokens) = self.hand_out(user, issue, withdraw).await?;
        Ok((LoginOutcome { user, tokens }, device))
    }

    /// Hands out credentials (`issue`) for `user` as the sign-in read it, then reads the
    /// account again (see [`Self::changed_since`]): if it changed, the credentials are
    /// withdrawn and, when the password is still the one checked, issued again on the fresh
    /// row; a few changes in a row and the sign-in gives up with 409.
    async fn hand_out<T>(
        &self,
        mut user: User,
        issue: impl AsyncFn(&User) -> Result<T, AppError>,
        withdraw: impl AsyncFn(&T) -> Result<(), AppError>,
    ) -> Result<(User, T), AppError> {
        for _ in 0..ISSUE_ATTEMPTS {
            let issued = issue(&user).await?;
            let changed = self.changed_since(&user).await;
            if let Ok(None) = changed {
                return Ok((user, issued));
            }
            withdraw(&issued).await?;
            user = changed?.ok_or_else(|| AppError::changed_meanwhile("account"))?;
        }
        Err(AppError::changed_meanwhile("account"))
    }

    /// Exchanges a refresh token for a new pair, if its account is still active.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair, AppError> {
        let result = self.exchange_refresh_token(refresh_token, client).await;
        counters::refresh(&result);
        result
    }

    async fn exchange_refresh_token(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair, AppError> {
        self.throttle
            .per_address(AddressAction::Refresh, client.address)
            .await?;
        let rotated = match self.tokens.rotate(refresh_token).await? {
            Refreshed::Rotated(rotated) => rotated,
            Refreshed::ReuseDetected { user } => {
                return Err(self.reuse_detected(user, client).await);
            }
        };
        let account = match self.still_grants(rotated.user, rotated.stamp).await {
            Ok(account) => account,
            Err(refused) => {
                self.tokens.abandon_rotation(&rotated).await?;
                return Err(refused);
            }
        };
        let user_id = rotated.user;
        let pair = self.tokens.finish_rotation(rotated, &account)?;
        self.audit
            .record(
                AuditEventType::TokenRefreshed,
                AuditContext::own(user_id, client),
                &[],
            )
            .await;
        Ok(pair)
    }

    /// Whether `token`, an access or a refresh token, would be accepted now: signature,
    /// expiry, revocation, its refresh family, its account (active, and the token not older
    /// than the account's last revocation), and for an access token, the role and
    /// permissions it carries still being the account's. Each check counts against the
    /// per-address refresh limit. A refresh token already rotated past (outside the grace
    /// window) is reuse, here as at a refresh: its family is revoked and the alarm raised.
    #[tracing::instrument(skip_all)]
    pub async fn check_token(&self, token: &str, client: &ClientInfo) -> Result<(), AppError> {
        self.throttle
            .per_address(AddressAction::Refresh, client.address)
            .await?;
        match self.tokens.authenticate(token).await {
            Ok(principal) => {
                let account = self
                    .still_grants(principal.user_id, principal.stamp)
                    .await?;
                if !self.tokens.carries_grant_of(token, &account) {
                    return Err(AppError::TokenInvalid);
                }
                Ok(())
            }
            // Not an access token: perhaps a refresh token.
            Err(AppError::TokenInvalid) => {
                let held = self.tokens.inspect_refresh(token).await?;
                match held.standing {
                    RefreshStanding::Live => {
                        self.still_grants(held.user, held.stamp).await?;
                        Ok(())
                    }
                    RefreshStanding::WithinGrace => Err(AppError::TokenInvalid),
                    RefreshStanding::Superseded => {
                        self.tokens.end_family(&held).await?;
                        Err(self.reuse_detected(held.user, client).await)
                    }
                }
            }
            Err(other) => Err(other),
        }
    }

    /// Ends a refresh token's family at its holder's request (SimpleJWT's blacklist), within
    /// the per-address refresh limit. Access tokens already issued live on until they
    /// expire, as SimpleJWT's do. A token its family was rotated past (outside the grace
    /// window) is reuse, as at a refresh: the family is revoked, the alarm raised, and the
    /// request refused; so is a token whose account no longer grants it (the family ends
    /// all the same).
    #[tracing::instrument(skip_all)]
    pub async fn blacklist_refresh_token(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        self.throttle
            .per_address(AddressAction::Refresh, client.address)
            .await?;
        let held = self.tokens.inspect_refresh(refresh_token).await?;
        self.tokens.end_family(&held).await?;
        if held.standing == RefreshStanding::Superseded {
            return Err(self.reuse_detected(held.user, client).await);
        }
        self.still_grants(held.user, held.stamp).await?;
        self.audit
            .record(
                AuditEventType::Logout,
                AuditContext::own(held.user, client),
                &[],
            )
            .await;
        Ok(())
    }

    /// The account of a token carrying `stamp`, if it still grants one: active, and the
    /// token not older than its last revocation. The account row is the durable record of
    /// revocations: a credential the token store failed to revoke (it was down when the
    /// password was reset) still dies here.
    async fn still_grants(&self, user: UserId, stamp: SecurityStamp) -> Result<User, AppError> {
        match self.accounts.active_user(user).await {
            Ok(account) if stamp >= account.revoked_below => Ok(account),
            Ok(_) | Err(AppError::NotAuthenticated) => Err(AppError::TokenInvalid),
            Err(other) => Err(other),
        }
    }

    /// Raises the stolen-token alarm for `user`'s refresh family (already revoked by the
    /// caller) and returns the refusal to answer with.
    async fn reuse_detected(&self, user: UserId, client: &ClientInfo) -> AppError {
        counters::refresh_reuse_detected();
        self.audit
            .record(
                AuditEventType::RefreshReuseDetected,
                AuditContext::own(user, client),
                &[],
            )
            .await;
        AppError::TokenInvalid
    }

    /// Password login into a cookie session, or the challenge for a second factor. The
    /// session id is always new, and a session the client already had (`previous`, its
    /// cookie value) ends: a planted id is never adopted.
    #[tracing::instrument(skip_all)]
    pub async fn start_session(
        &self,
        input: LoginInput,
        previous: Option<&str>,
    ) -> Result<SignIn<(User, StartedSession)>, AppError> {
        let result = self.session_login(&input, previous).await;
        counters::login("session", &result);
        match result? {
            SignIn::Complete((user, session, device)) => {
                tracing::info!(user = %user.id, "session login succeeded");
                self.signed_in(&user, &input.client, "session", &device)
                    .await;
                Ok(SignIn::Complete((user, session)))
            }
            SignIn::SecondFactor(challenge) => Ok(SignIn::SecondFactor(challenge)),
        }
    }

    async fn session_login(
        &self,
        input: &LoginInput,
        previous: Option<&str>,
    ) -> Result<SignIn<(User, StartedSession, Device)>, AppError> {
        let user = self.verify_credentials(input).await?;
        if let Some(challenge) = self.challenge(&user, &input.client).await? {
            return Ok(SignIn::SecondFactor(challenge));
        }
        let methods = vec![AuthMethod::Password];
        let (user, session, device) = self
            .open_session(user, &input.client, methods, previous)
            .await?;
        if let Some(challenge) = self.challenge(&user, &input.client).await? {
            self.sessions.end(&session_key(&session.session_id)).await?;
            return Ok(SignIn::SecondFactor(challenge));
        }
        Ok(SignIn::Complete((user, session, device)))
    }

    /// The second step of a session login: checks `proof` against the challenge
    /// `mfa_token` and opens the session.
    #[tracing::instrument(skip_all)]
    pub async fn complete_session(
        &self,
        mfa_token: &str,
        proof: FactorProof,
        client: &ClientInfo,
        previous: Option<&str>,
    ) -> Result<(User, StartedSession), AppError> {
        let result = match self.factors.verify(mfa_token, proof, client).await {
            Ok(verified) => {
                self.open_session(verified.user, client, verified.methods, previous)
                    .await
            }
            Err(refused) => Err(refused),
        };
        counters::login("session_mfa", &result);
        let (user, session, device) = result?;
        self.signed_in(&user, client, "session_mfa", &device).await;
        Ok((user, session))
    }

    async fn open_session(
        &self,
        user: User,
        client: &ClientInfo,
        methods: Vec<AuthMethod>,
        previous: Option<&str>,
    ) -> Result<(User, StartedSession, Device), AppError> {
        if let Some(previous) = previous {
            self.sessions.end(&session_key(previous)).await?;
        }
        let device = self.devices.record_sign_in(user.id, client).await?;
        let issue = async |user: &User| {
            self.sessions
                .start(
                    user.id,
                    Some(device.id),
                    user.security_stamp,
                    methods.clone(),
                )
                .await
        };
        let withdraw = async |session: &StartedSession| {
            self.sessions.end(&session_key(&session.session_id)).await
        };
        let (user, session) = self.hand_out(user, issue, withdraw).await?;
        Ok((user, session, device))
    }

    /// The live session `session_id` names and its account, the session slid on; `None` when
    /// there is no such session, or its account no longer allows it (deactivated, or signed
    /// out everywhere since): that session is then ended, so a browser polling it cannot
    /// keep it alive.
    pub async fn current_session(
        &self,
        session_id: &str,
    ) -> Result<Option<CurrentSession>, AppError> {
        let session = match self.sessions.authenticate(session_id).await {
            Ok(session) => session,
            Err(AppError::NotAuthenticated) => return Ok(None),
            Err(other) => return Err(other),
        };
        match self.accounts.me(&session.principal).await {
            Ok(user) => Ok(Some(CurrentSession {
                user,
                expires_at: session.expires_at,
                methods: session.methods,
            })),
            Err(AppError::NotAuthenticated) => {
                if let Credential::Session { key } = &session.principal.credential {
                    self.sessions.end(key).await?;
                }
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }

    /// Ends the caller's cookie session (a browser signing out); a caller with a bearer
    /// token has no session to end (`NotAuthenticated`).
    pub async fn end_session(&self, principal: &Principal) -> Result<(), AppError> {
        if !matches!(principal.credential, Credential::Session { .. }) {
            return Err(AppError::NotAuthenticated);
        }
        self.logout(principal, None).await
    }

    /// Ends the caller's credential (access token or session) and, if given, the refresh
    /// family that came with it.
    #[tracing::instrument(skip_all, fields(user = %principal.user_id))]
    pub async fn logout(
        &self,
        principal: &Principal,
        refresh_token: Option<&str>,
    ) -> Result<(), AppError> {
        match &principal.credential {
            Credential::AccessToken {
                token_id,
                expires_at,
            } => {
                self.tokens
                    .revoke_access_token(*token_id, *expires_at)
                    .await?
            }
            Credential::Session { key } => self.sessions.end(key).await?,
        }
        if let Some(token) = refresh_token {
            self.tokens
                .revoke_refresh_token(principal.user_id, token)
                .await?;
        }
        self.audit
            .record(
                AuditEventType::Logout,
                AuditContext::own(principal.user_id, &principal.client),
                &[],
            )
            .await;
        Ok(())
    }

    /// Ends every token and session of the caller, everywhere.
    #[tracing::instrument(skip_all, fields(user = %principal.user_id))]
    pub async fn logout_all(&self, principal: &Principal) -> Result<(), AppError> {
        // A credential the account has already revoked may not sign its owner out again.
        self.accounts.me(principal).await?;
        let now = self.clock.now();
        let stamp = self
            .users
            .bump_security_stamp(principal.user_id, now)
            .await?
            .ok_or(AppError::NotAuthenticated)?;
        self.revocation.everything(principal.user_id, stamp).await?;
        self.audit
            .record(
                AuditEventType::LogoutAll,
                AuditContext::own(principal.user_id, &principal.client),
                &[],
            )
            .await;
        Ok(())
    }

    async fn find(&self, identifier: &LoginIdentifier) -> Result<Option<User>, AppError> {
        // Input that cannot name an account finds none, through the same dummy-hash path.
        Ok(match identifier {
            LoginIdentifier::Email(raw) => match Email::parse(raw) {
                Ok(email) => self.users.find_by_email(&email).await?,
                Err(_) => None,
            },
            LoginIdentifier::Username(raw) => match Username::parse(raw) {
                Ok(username) => self.users.find_by_username(&username).await?,
                Err(_) => None,
            },
        })
    }
}

/// How often a sign-in re-issues its credentials when the account keeps changing under it.
const ISSUE_ATTEMPTS: usize = 3;

/// Throttle key for an identifier that names no account: hashed, so no address or name is
/// kept in the limiter, and normalised, so case variants count together.
fn unknown_account_key(identifier: &LoginIdentifier) -> String {
    let raw = match identifier {
        LoginIdentifier::Email(raw) | LoginIdentifier::Username(raw) => raw.trim().to_lowercase(),
    };
    format!("unknown:{}", sha256_hex(&raw))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::ports::{MockPasswordHasher, MockUserRepository};
    use crate::credentials::ports::{
        MockTokenCodec, MockTokenStore, Rotation, TokenClaims, TokenKind,
    };
    use crate::credentials::tokens::TokenSettings;
    use crate::test_support::{bearer_principal, fixed_clock, quiet_auditor, sample_user};
    use uuid::Uuid;

    fn login_input(email: &str) -> LoginInput {
        LoginInput {
            identifier: LoginIdentifier::Email(email.into()),
            password: "violet-tractor-42".into(),
            client: ClientInfo::default(),
        }
    }

    fn codec() -> MockTokenCodec {
        let mut codec = MockTokenCodec::new();
        codec
            .expect_encode()
            .returning(|c| Ok(format!("{}:{}", c.kind.as_str(), c.token_id)));
        codec
    }

    fn allow_all() -> crate::limits::ports::MockRateLimiter {
        let mut limiter = crate::limits::ports::MockRateLimiter::new();
        limiter
            .expect_reserve()
            .returning(|_, _| Ok(crate::limits::ports::RateStatus::Allowed));
        limiter.expect_release().returning(|_| Ok(()));
        limiter
            .expect_hit()
            .returning(|_, _| Ok(crate::limits::ports::RateStatus::Allowed));
        limiter
    }

    fn service(
        users: MockUserRepository,
        hasher: MockPasswordHasher,
        codec: MockTokenCodec,
        store: MockTokenStore,
    ) -> AuthService {
        service_with(users, hasher, codec, store, allow_all())
    }

    fn service_with(
        users: MockUserRepository,
        hasher: MockPasswordHasher,
        codec: MockTokenCodec,
        store: MockTokenStore,
        limiter: crate::limits::ports::MockRateLimiter,
    ) -> AuthService {
        let factors = crate::test_support::no_second_factors();
        service_with_factors(users, hasher, codec, store, limiter, factors)
    }

    fn service_with_factors(
        users: MockUserRepository,
        hasher: MockPasswordHasher,
        codec: MockTokenCodec,
        store: MockTokenStore,
        limiter: crate::limits::ports::MockRateLimiter,
        factors: Arc<SecondFactors>,
    ) -> AuthService {
        let tokens = TokenService::new(
            Arc::new(codec),
            Arc::new(store),
            fixed_clock(),
            TokenSettings::default(),
        );
        let users: Arc<dyn UserRepository> = Arc::new(users);
        let hasher: Arc<dyn PasswordHasher> = Arc::new(hasher);
        let accounts = UserService::new(
            users.clone(),
            hasher.clone(),
            fixed_clock(),
            gatehouse_domain::PasswordPolicy::default(),
        );
        let sessions = crate::credentials::sessions::SessionService::new(
            Arc::new(crate::credentials::ports::MockSessionStore::new()),
            fixed_clock(),
            crate::credentials::sessions::SessionSettings::default(),
        );
        let throttle = Throttle::new(
            Arc::new(limiter),
            crate::limits::throttle::ThrottleSettings::default(),
            quiet_auditor(),
        );
        let mut device_repo = crate::accounts::ports::MockDeviceRepository::new();
        device_repo
            .expect_record_sign_in()
            .returning(|user, agent, ip, now| {
                Ok(gatehouse_domain::Device {
                    id: gatehouse_domain::DeviceId::generate(),
                    user,
                    user_agent: agent.to_owned(),
                    ip,
                    first_seen_at: now,
                    last_seen_at: now,
                })
            });
        device_repo.expect_list().returning(|_| Ok(vec![]));
        let tokens = Arc::new(tokens);
        let sessions = Arc::new(sessions);
        let devices = crate::accounts::devices::DeviceService::new(
            Arc::new(device_repo),
            tokens.clone(),
            sessions.clone(),
            crate::test_support::any_active_account(),
            fixed_clock(),
            quiet_auditor(),
        );
        AuthService::new(AuthParts {
            users,
            hasher,
            revocation: Arc::new(Revocation::new(tokens.clone(), sessions.clone())),
            tokens,
            sessions,
            accounts: Arc::new(accounts),
            throttle: Arc::new(throttle),
            devices: Arc::new(devices),
            audit: quiet_auditor(),
            outbox: crate::test_support::accepting_outbox(),
            factors,
            clock: fixed_clock(),
        })
    }

    /// A factor confirmed while the login ran (after its first look, before its second):
    /// the tokens it issued are withdrawn and the second factor is asked for instead.
    #[tokio::test]
    async fn a_factor_enabled_during_a_login_withdraws_its_tokens_and_asks_for_it() {
        use crate::factors::ports::{FactorStore, MockChallengeStore, MockFactorStore, TotpFactor};
        let user = sample_user();
        let mut users = MockUserRepository::new();
        let found = user.clone();
        users
            .expect_find_by_email()
            .returning(move |_| Ok(Some(found.clone())));
        users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(user.clone())));
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_needs_upgrade().return_const(false);
        hasher.expect_verify().returning(|_, _| Ok(true));
        let mut factor_store = MockFactorStore::new();
        let mut looks = 0;
        factor_store.expect_totp().returning(move |_| {
            looks += 1;
            Ok((looks > 1).then(|| TotpFactor {
                sealed_secret: b"s".to_vec(),
                confirmed: true,
                last_step: Some(1),
                created_at: crate::test_support::NOW,
            }))
        });
        factor_store.expect_passkeys().returning(|_| Ok(vec![]));
        factor_store
            .expect_recovery_codes_left()
            .returning(|_| Ok(10));
        let mut challenges = MockChallengeStore::new();
        challenges
            .expect_put()
            .withf(|key, _, _| key.starts_with("mfa:"))
            .times(1)
            .returning(|_, _, _| Ok(()));
        let store: Arc<dyn FactorStore> = Arc::new(factor_store);
        let factors = crate::test_support::second_factors(store, Arc::new(challenges));
        let mut token_store = MockTokenStore::new();
        token_store
            .expect_create_family()
            .times(1)
            .returning(|_| Ok(()));
        token_store
            .expect_revoke_family()
            .times(1)
            .returning(|_| Ok(()));
        token_store
            .expect_deny_access_token()
            .times(1)
            .returning(|_, _| Ok(()));
        let codec = decoding_codec();
        let outcome = service_with_factors(users, hasher, codec, token_store, allow_all(), factors)
            .login(login_input("jane@example.com"))
            .await
            .unwrap();
        let SignIn::SecondFactor(challenge) = outcome else {
            panic!("tokens survived a factor enabled meanwhile")
        };
        assert_eq!(challenge.methods, ["totp", "recovery_code"]);
    }

    #[tokio::test]
    async fn unknown_user_burns_a_dummy_hash_and_gets_invalid_credentials() {
        let mut users = MockUserRepository::new();
        users.expect_find_by_email().returning(|_| Ok(None));
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_needs_upgrade().return_const(false);
        hasher.expect_verify_dummy().times(1).returning(|_| Ok(()));
        hasher.expect_verify().never();
        let err = service(users, hasher, codec(), MockTokenStore::new())
            .login(login_input("ghost@example.com"))
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::InvalidCredentials));
    }

    #[tokio::test]
    async fn a_throttled_account_is_refused_before_any_password_check() {
        let user = sample_user();
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_email()
            .returning(move |_| Ok(Some(user.clone())));
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_needs_upgrade().return_const(false);
        hasher.expect_verify().never();
        let mut limiter = crate::limits::ports::MockRateLimiter::new();
        limiter.expect_reserve().returning(|_, _| {
            Ok(crate::limits::ports::RateStatus::Limited {
                retry_after: std::time::Duration::from_secs(60),
            })
        });
        limiter
            .expect_hit()
            .returning(|_, _| Ok(crate::limits::ports::RateStatus::Allowed));
        let err = service_with(users, hasher, codec(), MockTokenStore::new(), limiter)
            .login(login_input("jane@example.com"))
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::RateLimited { .. }));
    }

    #[tokio::test]
    async fn a_wrong_password_keeps_its_reservation_against_the_account() {
        let user = sample_user();
        let account = user.id.to_string();
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_email()
            .returning(move |_| Ok(Some(user.clone())));
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_needs_upgrade().return_const(false);
        hasher.expect_verify().returning(|_, _| Ok(false));
        let mut limiter = crate::limits::ports::MockRateLimiter::new();
        limiter
            .expect_reserve()
            .withf(move |key, _| key == format!("login:account:{account}"))
            .times(1)
            .returning(|_, _| Ok(crate::limits::ports::RateStatus::Allowed));
        limiter.expect_release().never();
        let err = service_with(users, hasher, codec(), MockTokenStore::new(), limiter)
            .login(login_input("jane@example.com"))
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::InvalidCredentials));
    }

    #[tokio::test]
    async fn malformed_identifier_takes_the_same_path_as_an_unknown_user() {
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_needs_upgrade().return_const(false);
        hasher.expect_verify_dummy().times(1).returning(|_| Ok(()));
        let err = service(
            MockUserRepository::new(),
            hasher,
            codec(),
            MockTokenStore::new(),
        )
        .login(login_input("no at sign"))
        .await
        .unwrap_err();
        assert!(matches!(err, AppError::InvalidCredentials));
    }

    #[tokio::test]
    async fn wrong_password_is_invalid_credentials_and_issues_nothing() {
        let user = sample_user();
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_email()
            .returning(move |_| Ok(Some(user.clone())));
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_needs_upgrade().return_const(false);
        hasher.expect_verify().returning(|_, _| Ok(false));
        let mut store = MockTokenStore::new();
        store.expect_create_family().never();
        let err = service(users, hasher, codec(), store)
            .login(login_input("jane@example.com"))
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::InvalidCredentials));
    }

    #[tokio::test]
    async fn deactivated_account_is_refused_even_with_the_right_password() {
        let mut user = sample_user();
        user.is_active = false;
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_email()
            .returning(move |_| Ok(Some(user.clone())));
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_needs_upgrade().return_const(false);
        hasher.expect_verify().returning(|_, _| Ok(true));
        let err = service(users, hasher, codec(), MockTokenStore::new())
            .login(login_input("jane@example.com"))
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::AccountDisabled));
    }

    #[tokio::test]
    async fn login_starts_a_family_and_returns_a_pair() {
        let user = sample_user();
        let id = user.id;
        let mut users = MockUserRepository::new();
        let same = user.clone();
        users
            .expect_find_by_email()
            .returning(move |_| Ok(Some(user.clone())));
        users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(same.clone())));
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_needs_upgrade().return_const(false);
        hasher.expect_verify().returning(|_, _| Ok(true));
        let mut store = MockTokenStore::new();
        store
            .expect_create_family()
            .withf(move |f| f.user == id)
            .times(1)
            .returning(|_| Ok(()));
        let outcome = service(users, hasher, codec(), store)
            .login(login_input("JANE@example.com"))
            .await
            .unwrap();
        let SignIn::Complete(outcome) = outcome else {
            panic!("no second factor was expected")
        };
        assert!(outcome.tokens.access_token.starts_with("access:"));
        assert!(outcome.tokens.refresh_token.starts_with("refresh:"));
        assert_eq!(outcome.tokens.expires_in, 900);
    }

    /// A password reset landed between the password check and the issuance: the tokens
    /// just issued are withdrawn (family revoked, access token denied) and the login fails.
    #[tokio::test]
    async fn a_login_whose_account_changed_meanwhile_withdraws_what_it_issued() {
        let user = sample_user();
        let mut reset = user.clone();
        reset.security_stamp = gatehouse_domain::SecurityStamp::new(1);
        reset.password_hash = gatehouse_domain::PasswordHash::new("$2b$04$other".into());
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_email()
            .returning(move |_| Ok(Some(user.clone())));
        users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(reset.clone())));
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_needs_upgrade().return_const(false);
        hasher.expect_verify().returning(|_, _| Ok(true));
        let codec = decoding_codec();
        let mut store = MockTokenStore::new();
        store.expect_create_family().times(1).returning(|_| Ok(()));
        store.expect_revoke_family().times(1).returning(|_| Ok(()));
        store
            .expect_deny_access_token()
            .times(1)
            .returning(|_, _| Ok(()));
        let err = service(users, hasher, codec, store)
            .login(login_input("jane@example.com"))
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::InvalidCredentials), "{err:?}");
    }

    /// A codec that also decodes the tokens it issued (as a withdrawal needs).
    fn decoding_codec() -> MockTokenCodec {
        let mut codec = codec();
        codec.expect_decode().returning(|token, kind| {
            let mut claims = refresh_claims(gatehouse_domain::UserId::generate());
            claims.kind = kind;
            claims.token_id = Uuid::parse_str(token.split_once(':').unwrap().1).unwrap();
            Ok(claims)
        });
        codec
    }

    fn refresh_claims(subject: gatehouse_domain::UserId) -> TokenClaims {
        TokenClaims {
            subject,
            token_id: Uuid::new_v4(),
            kind: TokenKind::Refresh,
            family: Some(Uuid::new_v4()),
            device: None,
            issued_at: time::OffsetDateTime::UNIX_EPOCH,
            authenticated_at: time::OffsetDateTime::UNIX_EPOCH,
            expires_at: time::OffsetDateTime::UNIX_EPOCH,
            stamp: gatehouse_domain::SecurityStamp::INITIAL,
            methods: vec![AuthMethod::Password],
            grant: None,
        }
    }

    #[tokio::test]
    async fn reused_refresh_token_is_invalid() {
        let user = sample_user();
        let claims = refresh_claims(user.id);
        let mut codec = codec();
        codec
            .expect_decode()
            .returning(move |_, _| Ok(claims.clone()));
        let mut store = MockTokenStore::new();
        store
            .expect_rotate()
            .returning(|_| Ok(Rotation::ReuseDetected));
        let err = service(
            MockUserRepository::new(),
            MockPasswordHasher::new(),
            codec,
            store,
        )
        .refresh("token", &ClientInfo::default())
        .await
        .unwrap_err();
        assert!(matches!(err, AppError::TokenInvalid));
    }

    /// A family the store no longer knows is `token_expired` once the token's own time is
    /// up (its family ended with it), `token_invalid` before.
    #[tokio::test]
    async fn a_forgotten_family_is_expired_only_past_the_tokens_expiry() {
        for (expires_in, expected_expired) in [(-1, true), (3600, false)] {
            let mut claims = refresh_claims(sample_user().id);
            claims.expires_at = crate::test_support::NOW + time::Duration::seconds(expires_in);
            let mut codec = codec();
            codec
                .expect_decode()
                .returning(move |_, _| Ok(claims.clone()));
            let mut store = MockTokenStore::new();
            store.expect_rotate().returning(|_| Ok(Rotation::Revoked));
            let err = service(
                MockUserRepository::new(),
                MockPasswordHasher::new(),
                codec,
                store,
            )
            .refresh("token", &ClientInfo::default())
            .await
            .unwrap_err();
            if expected_expired {
                assert!(matches!(err, AppError::TokenExpired), "{err:?}");
            } else {
                assert!(matches!(err, AppError::TokenInvalid), "{err:?}");
            }
        }
    }

    /// After a rotation the account decides: deactivated, or the token's stamp below the
    /// account's revocation floor (a family the token store missed, say because it was down
    /// during a reset), and the refresh is refused and the pair just minted withdrawn.
    #[tokio::test]
    async fn a_refresh_the_account_no_longer_allows_is_refused_and_its_family_revoked() {
        let mut deactivated = sample_user();
        deactivated.is_active = false;
        let mut reset = sample_user();
        reset.revoked_below = gatehouse_domain::SecurityStamp::new(1);
        for user in [deactivated, reset] {
            let claims = refresh_claims(user.id);
            let mut users = MockUserRepository::new();
            users
                .expect_find_by_id()
                .returning(move |_| Ok(Some(user.clone())));
            let mut codec = codec();
            codec
                .expect_decode()
                .returning(move |_, _| Ok(claims.clone()));
            let mut store = MockTokenStore::new();
            store.expect_rotate().returning(|_| {
                Ok(Rotation::Rotated {
                    expires_at: time::OffsetDateTime::UNIX_EPOCH,
                })
            });
            store.expect_revoke_family().times(1).returning(|_| Ok(()));
            // No access token was signed for it, so none needs denying.
            store.expect_deny_access_token().never();
            let err = service(users, MockPasswordHasher::new(), codec, store)
                .refresh("token", &ClientInfo::default())
                .await
                .unwrap_err();
            assert!(matches!(err, AppError::TokenInvalid), "{err:?}");
        }
    }

    #[tokio::test]
    async fn logout_denies_the_access_token_and_revokes_only_the_callers_family() {
        let user = sample_user();
        let own = refresh_claims(user.id);
        let family = own.family;
        let mut codec = codec();
        codec.expect_decode().returning(move |_, _| Ok(own.clone()));
        let mut store = MockTokenStore::new();
        // Remembered a little past the token's expiry: `exp` has whole seconds.
        let remembered = crate::test_support::NOW + std::time::Duration::from_secs(5);
        store
            .expect_deny_access_token()
            .withf(move |_, until| *until == remembered)
            .times(1)
            .returning(|_, _| Ok(()));
        store
            .expect_revoke_family()
            .withf(move |f| Some(*f) == family)
            .times(1)
            .returning(|_| Ok(()));
        let principal = bearer_principal(user.id);
        service(
            MockUserRepository::new(),
            MockPasswordHasher::new(),
            codec,
            store,
        )
        .logout(&principal, Some("refresh"))
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn logout_ignores_someone_elses_refresh_token() {
        let other = refresh_claims(gatehouse_domain::UserId::generate());
        let mut codec = codec();
        codec
            .expect_decode()
            .returning(move |_, _| Ok(other.clone()));
        let mut store = MockTokenStore::new();
        store.expect_deny_access_token().returning(|_, _| Ok(()));
        store.expect_revoke_family().never();
        let principal = bearer_principal(sample_user().id);
        service(
            MockUserRepository::new(),
            MockPasswordHasher::new(),
            codec,
            store,
        )
        .logout(&principal, Some("refresh"))
        .await
        .unwrap();
    }
}
