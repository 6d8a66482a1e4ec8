//! Second factors' adapters: RFC 6238 codes (`totp-rs`), the enrolment QR code (`qrcode`),
//! recovery codes stored as keyed digests (HMAC-SHA256), TOTP secrets sealed with
//! [`crate::signing::MasterKey`] under [`crate::signing::SealPurpose::TotpSecret`]
//! ([`SealedFactorSecrets`]), and the WebAuthn relying party (`webauthn-rs`,
//! [`WebauthnPasskeys`]).

mod passkeys;
mod recovery;
mod secrets;
mod totp;

pub use passkeys::WebauthnPasskeys;
pub use recovery::{RECOVERY_CODES, RecoveryCodeDigest, RecoveryCodes};
pub use secrets::SealedFactorSecrets;
pub use totp::{TOTP_DIGITS, TOTP_STEP_SECONDS, TotpSecret, qr_svg};
