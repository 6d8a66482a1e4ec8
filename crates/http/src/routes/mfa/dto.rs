//! Second-factor bodies.

use gatehouse_application::{
    FactorProof, FactorStatus, MfaChallenge, NewPasskey, PasskeyView, TotpEnrolment,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ApiError;

/// The password that guards a change.
#[derive(Deserialize, ToSchema)]
pub struct PasswordRequest {
    pub password: String,
}

/// A code from the authenticator app.
#[derive(Deserialize, ToSchema)]
pub struct CodeRequest {
    #[schema(example = "123456")]
    pub code: String,
}

/// The password and a code (from the app, or a recovery code).
#[derive(Deserialize, ToSchema)]
pub struct PasswordAndCodeRequest {
    pub password: String,
    pub code: String,
}

/// The second step of a sign-in: the challenge, and either a code or a WebAuthn assertion.
#[derive(Deserialize, ToSchema)]
pub struct MfaVerifyRequest {
    pub mfa_token: String,
    /// A code from the authenticator app, or a recovery code.
    pub code: Option<String>,
    /// A WebAuthn assertion (`AuthenticationResponseJSON`).
    #[schema(value_type = Option<Object>)]
    pub credential: Option<serde_json::Value>,
}

impl MfaVerifyRequest {
    /// The proof offered: exactly one of `code` and `credential`.
    pub fn proof(self) -> Result<(String, FactorProof), ApiError> {
        let proof = match (self.code, self.credential) {
            (Some(code), None) => FactorProof::Code(code),
            (None, Some(credential)) => FactorProof::Credential(credential_object(credential)?),
            (Some(_), Some(_)) => {
                return Err(ApiError::validation("code", "send a code or a credential, not both"));
            }
            (None, None) => {
                return Err(ApiError::validation("code", "send a code or a credential"));
            }
        };
        Ok((self.mfa_token, proof))
    }
}

/// The challenge a WebAuthn second step answers.
#[derive(Deserialize, ToSchema)]
pub struct MfaTokenRequest {
    pub mfa_token: String,
}

/// The end of a passkey registration.
#[derive(Deserialize, ToSchema)]
pub struct PasskeyRegistrationRequest {
    pub challenge_id: String,
    /// 1 to 64 characters.
    #[schema(example = "Laptop")]
    pub name: String,
    /// The authenticator's `RegistrationResponseJSON`.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// The end of a passwordless sign-in.
#[derive(Deserialize, ToSchema)]
pub struct PasskeySignInRequest {
    pub challenge_id: String,
    /// The authenticator's `AuthenticationResponseJSON`.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// A credential is a JSON object; anything else is refused before a ceremony sees it.
pub fn credential_object(credential: serde_json::Value) -> Result<serde_json::Value, ApiError> {
    if credential.is_object() {
        Ok(credential)
    } else {
        Err(ApiError::validation(
            "credential",
            "expected a WebAuthn response object",
        ))
    }
}

/// The password was right; the second factor must follow.
#[derive(Serialize, ToSchema)]
pub struct MfaRequiredResponse {
    /// Always `true`.
    pub mfa_required: bool,
    /// Present it to `/auth/mfa/verify` or `/sessions/mfa` (single use).
    pub mfa_token: String,
    /// What this account can use: `totp`, `recovery_code`, `webauthn`.
    #[schema(value_type = Vec<String>)]
    pub methods: Vec<&'static str>,
    /// Seconds the `mfa_token` lives.
    #[schema(example = 300)]
    pub expires_in: u64,
}

impl From<MfaChallenge> for MfaRequiredResponse {
    fn from(challenge: MfaChallenge) -> Self {
        Self {
            mfa_required: true,
            mfa_token: challenge.mfa_token,
            methods: challenge.methods,
            expires_in: challenge.expires_in.as_secs(),
        }
    }
}

/// A passkey.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyResponse {
    pub id: Uuid,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<PasskeyView> for PasskeyResponse {
    fn from(passkey: PasskeyView) -> Self {
        Self {
            id: passkey.id,
            name: passkey.name,
            created_at: passkey.created_at,
            last_used_at: passkey.last_used_at,
        }
    }
}

/// A newly registered passkey.
#[derive(Serialize, ToSchema)]
pub struct NewPasskeyResponse {
    pub id: Uuid,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Ten recovery codes, shown once: only when this passkey is the account's first second
    /// factor (an authenticator app brings its own at confirmation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<String>>,
}

impl From<NewPasskey> for NewPasskeyResponse {
    fn from(new: NewPasskey) -> Self {
        Self {
            id: new.passkey.id,
            name: new.passkey.name,
            created_at: new.passkey.created_at,
            recovery_codes: new
                .recovery_codes
                .map(|codes| codes.iter().map(|c| c.expose_secret().to_owned()).collect()),
        }
    }
}

/// `GET /users/me/mfa`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FactorStatusResponse {
    /// Whether an authenticator app is required at sign-in.
    pub totp: bool,
    pub passkeys: Vec<PasskeyResponse>,
    pub recovery_codes_left: u64,
}

impl From<FactorStatus> for FactorStatusResponse {
    fn from(status: FactorStatus) -> Self {
        Self {
            totp: status.totp,
            passkeys: status.passkeys.into_iter().map(Into::into).collect(),
            recovery_codes_left: status.recovery_codes_left,
        }
    }
}

/// A started authenticator-app enrolment: shown once.
#[derive(Serialize, ToSchema)]
pub struct TotpEnrolmentResponse {
    /// The secret, base32 (for typing into an app).
    pub secret: String,
    pub otpauth_url: String,
    /// The `otpauth_url` as a QR code, SVG markup.
    pub qr_svg: String,
}

impl From<TotpEnrolment> for TotpEnrolmentResponse {
    fn from(enrolment: TotpEnrolment) -> Self {
        Self {
            secret: enrolment.secret.expose_secret().to_owned(),
            otpauth_url: enrolment.otpauth_url,
            qr_svg: enrolment.qr_svg,
        }
    }
}

/// Recovery codes: shown once, each good for one sign-in.
#[derive(Serialize, ToSchema)]
pub struct RecoveryCodesResponse {
    pub recovery_codes: Vec<String>,
}

impl From<Vec<SecretString>> for RecoveryCodesResponse {
    fn from(codes: Vec<SecretString>) -> Self {
        Self {
            recovery_codes: codes.iter().map(|c| c.expose_secret().to_owned()).collect(),
        }
    }
}

/// A WebAuthn ceremony begun: its id and the options for `navigator.credentials`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CeremonyResponse {
    pub challenge_id: String,
    /// `PublicKeyCredentialCreationOptions` or `PublicKeyCredentialRequestOptions`, JSON.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

/// Request options for the WebAuthn second step.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssertionOptionsResponse {
    /// `PublicKeyCredentialRequestOptions`, JSON.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}
