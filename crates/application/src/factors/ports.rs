//! The second-factor ports: where factors are kept, the cryptography that makes and checks
//! them, the WebAuthn ceremonies, and the short-lived store for state that crosses requests.

use std::time::Duration;

use async_trait::async_trait;
use gatehouse_domain::UserId;
use secrecy::SecretString;
use time::OffsetDateTime;
use uuid::Uuid;

/// A user's authenticator app (TOTP), pending until its first code confirms it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpFactor {
    /// The shared secret, sealed (see [`SecondFactorSecrets`]); never stored in the clear.
    pub sealed_secret: Vec<u8>,
    /// Whether a first code confirmed it: only then is it required at sign-in.
    pub confirmed: bool,
    /// The last time step a code was accepted for: no code of it or before is accepted again.
    pub last_step: Option<u64>,
    /// When enrolment started.
    pub created_at: OffsetDateTime,
}

/// A registered passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    /// Gatehouse's id for it (what `DELETE /users/me/passkeys/{id}` names).
    pub id: Uuid,
    /// Whose it is.
    pub user: UserId,
    /// The authenticator's credential id (unique across users).
    pub credential_id: Vec<u8>,
    /// The name its owner gave it.
    pub name: String,
    /// The public key and signature counter, as the WebAuthn adapter serialises them.
    pub passkey: String,
    /// When it was registered.
    pub created_at: OffsetDateTime,
    /// When it last signed someone in.
    pub last_used_at: Option<OffsetDateTime>,
}

/// Where factors are kept. Every write that decides a race is ONE atomic step of the store:
/// confirming a pending secret, accepting a code's time step, using a recovery code.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait FactorStore: Send + Sync {
    /// `user`'s authenticator app, pending or confirmed.
    async fn totp(&self, user: UserId) -> anyhow::Result<Option<TotpFactor>>;

    /// Starts (or restarts) an enrolment with `sealed_secret`, unless a confirmed one exists:
    /// `false` then, and nothing changes.
    async fn put_pending_totp(
        &self,
        user: UserId,
        sealed_secret: &[u8],
        at: OffsetDateTime,
    ) -> anyhow::Result<bool>;

    /// Confirms the pending enrolment whose secret is `sealed_secret` with the step of its
    /// first code, replacing the user's recovery codes with `recovery_digests` in the same
    /// step. `false` when there is no such pending enrolment (confirmed meanwhile, restarted
    /// with another secret, removed).
    async fn confirm_totp(
        &self,
        user: UserId,
        sealed_secret: &[u8],
        step: u64,
        recovery_digests: &[Vec<u8>],
        at: OffsetDateTime,
    ) -> anyhow::Result<bool>;

    /// Records that a code of `step` was accepted, if no code of `step` or later was: the
    /// compare-and-set that makes every code single use, also against a concurrent request.
    async fn accept_totp_step(&self, user: UserId, step: u64) -> anyhow::Result<bool>;

    /// Every stored authenticator-app secret, with its owner (for a master-key rotation).
    async fn sealed_totp_secrets(&self) -> anyhow::Result<Vec<(UserId, Vec<u8>)>>;

    /// Replaces `user`'s sealed secret `old` with `new` (the same secret sealed again), if it
    /// is still `old`: `false` when it changed meanwhile.
    async fn reseal_totp(&self, user: UserId, old: &[u8], new: &[u8]) -> anyhow::Result<bool>;

    /// Removes the authenticator app; `false` when there was none.
    async fn remove_totp(&self, user: UserId) -> anyhow::Result<bool>;

    /// Replaces every recovery code of `user` with `digests`.
    async fn replace_recovery_codes(
        &self,
        user: UserId,
        digests: &[Vec<u8>],
        at: OffsetDateTime,
    ) -> anyhow::Result<()>;

    /// How many unused recovery codes `user` has.
    async fn recovery_codes_left(&self, user: UserId) -> anyhow::Result<u64>;

    /// Uses the recovery code whose digest is `digest`: `true` for exactly one caller, and
    /// never again.
    async fn use_recovery_code(&self, user: UserId, digest: &[u8]) -> anyhow::Result<bool>;

    /// `user`'s passkeys, oldest first.
    async fn passkeys(&self, user: UserId) -> anyhow::Result<Vec<StoredPasskey>>;

    /// The passkey with this credential id, whoever owns it.
    async fn passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> anyhow::Result<Option<StoredPasskey>>;

    /// Stores a new passkey; `false` when its credential id is registered already.
    async fn add_passkey(&self, passkey: &StoredPasskey) -> anyhow::Result<bool>;

    /// Records a sign-in with passkey `id` (and its new counter, when it changed).
    async fn passkey_used(
        &self,
        id: Uuid,
        passkey: Option<String>,
        at: OffsetDateTime,
    ) -> anyhow::Result<()>;

    /// Removes `user`'s passkey `id`; `false` when they have no such passkey.
    async fn remove_passkey(&self, user: UserId, id: Uuid) -> anyhow::Result<bool>;

    /// Removes every factor of `user` (app, recovery codes, passkeys); `true` when there was
    /// any.
    async fn remove_all(&self, user: UserId) -> anyhow::Result<bool>;
}

/// A new authenticator-app secret: sealed for the store, and shown once to its owner.
pub struct NewTotp {
    /// What the store keeps.
    pub sealed_secret: Vec<u8>,
    /// The secret in base32, for typing into an app.
    pub secret: SecretString,
    /// The `otpauth://` URI that carries it.
    pub otpauth_url: String,
    /// That URI as a QR code, SVG.
    pub qr_svg: String,
}

/// Never prints the secret (the URI and the QR code carry it too).
impl std::fmt::Debug for NewTotp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewTotp(..)")
    }
}

/// New recovery codes: shown once, stored as digests.
#[derive(Debug)]
pub struct NewRecoveryCodes {
    /// The codes, for their owner's eyes only.
    pub codes: Vec<SecretString>,
    /// What the store keeps, one per code.
    pub digests: Vec<Vec<u8>>,
}

/// The cryptography of second factors: sealing TOTP secrets, computing codes, keyed digests
/// of recovery codes. Pure computation, no I/O.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait SecondFactorSecrets: Send + Sync {
    /// A fresh TOTP secret for `user`, labelled `account` in authenticator apps.
    fn new_totp(&self, user: UserId, account: &str) -> anyhow::Result<NewTotp>;

    /// The time step `code` is valid for at `at` (one step of drift either way), if it is
    /// a right code for the secret sealed in `sealed_secret`.
    fn totp_step(
        &self,
        user: UserId,
        sealed_secret: &[u8],
        code: &str,
        at: OffsetDateTime,
    ) -> anyhow::Result<Option<u64>>;

    /// `sealed_secret` sealed again under the current master key, when an older key sealed
    /// it; `None` when the current key did already.
    fn reseal_totp(&self, user: UserId, sealed_secret: &[u8]) -> anyhow::Result<Option<Vec<u8>>>;

    /// Ten fresh recovery codes for `user`.
    fn new_recovery_codes(&self, user: UserId) -> anyhow::Result<NewRecoveryCodes>;

    /// The digests a typed recovery code may be stored under (more than one while an old
    /// master key is still accepted); none when it cannot be a code.
    fn recovery_code_digests(&self, user: UserId, typed: &str) -> Vec<Vec<u8>>;
}

/// The opaque state of a WebAuthn ceremony, kept between its start and its finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CeremonyState(pub String);

/// What a passkey registration produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredPasskey {
    /// The authenticator's credential id.
    pub credential_id: Vec<u8>,
    /// The passkey as the adapter serialises it (public key, counter).
    pub passkey: String,
}

/// What a passkey assertion proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedPasskey {
    /// Which credential signed.
    pub credential_id: Vec<u8>,
    /// The passkey with its new counter, when it changed.
    pub updated_passkey: Option<String>,
}

/// Why a WebAuthn step failed.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// Passkeys are not available here (the relying-party id is not a domain).
    #[error("passkeys are unavailable: {0}")]
    Unavailable(String),
    /// The credential is malformed, for another ceremony, or its signature does not verify.
    #[error("the passkey credential was refused: {0}")]
    Rejected(String),
}

/// The WebAuthn ceremonies (registration, second-factor and passwordless sign-in). Options
/// are the standard JSON forms, credentials the standard response JSON.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait PasskeyCeremonies: Send + Sync {
    /// Whether passkeys work here at all (see [`PasskeyError::Unavailable`]).
    fn available(&self) -> Result<(), PasskeyError>;

    /// Creation options for a new discoverable passkey of `user`, excluding the credentials
    /// they registered already.
    fn start_registration(
        &self,
        user: UserId,
        name: &str,
        display_name: &str,
        exclude: &[Vec<u8>],
    ) -> Result<(serde_json::Value, CeremonyState), PasskeyError>;

    /// Checks a registration response against the ceremony it answers.
    fn finish_registration(
        &self,
        state: &CeremonyState,
        credential: &serde_json::Value,
    ) -> Result<RegisteredPasskey, PasskeyError>;

    /// Request options naming `passkeys` (a second factor after a password).
    fn start_authentication(
        &self,
        passkeys: &[String],
    ) -> Result<(serde_json::Value, CeremonyState), PasskeyError>;

    /// Checks an assertion by one of `passkeys` against the ceremony it answers.
    fn finish_authentication(
        &self,
        state: &CeremonyState,
        credential: &serde_json::Value,
        passkeys: &[String],
    ) -> Result<AuthenticatedPasskey, PasskeyError>;

    /// Request options for any discoverable passkey (passwordless sign-in).
    fn start_discoverable(&self) -> Result<(serde_json::Value, CeremonyState), PasskeyError>;

    /// The user handle and credential id an assertion claims, before it is checked.
    fn identify(&self, credential: &serde_json::Value) -> Result<(Uuid, Vec<u8>), PasskeyError>;

    /// Checks a discoverable assertion by one of `passkeys` (its claimed owner's).
    fn finish_discoverable(
        &self,
        state: &CeremonyState,
        credential: &serde_json::Value,
        passkeys: &[String],
    ) -> Result<AuthenticatedPasskey, PasskeyError>;
}

/// Short-lived state that crosses requests (second-factor challenges, WebAuthn ceremonies),
/// shared by every instance when the adapter is (Redis). Values expire on their own.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ChallengeStore: Send + Sync {
    /// Stores `value` under `key` for `ttl`, replacing what was there.
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()>;

    /// The live value under `key`.
    async fn get(&self, key: &str) -> anyhow::Result<Option<String>>;

    /// Reads and removes the value under `key` in ONE atomic step: of concurrent takers,
    /// exactly one gets it.
    async fn take(&self, key: &str) -> anyhow::Result<Option<String>>;

    /// Removes `key`.
    async fn remove(&self, key: &str) -> anyhow::Result<()>;
}
