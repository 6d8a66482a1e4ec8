//! Second factors' primitives (groundwork of the multi-factor capability): RFC 6238 codes,
//! the enrolment QR code, and recovery codes stored as keyed digests. The services that enrol, check and reset factors build on
//! these; the secrets they keep are sealed with [`crate::signing::MasterKey`] under
//! [`crate::signing::SealPurpose::TotpSecret`].

mod recovery;
mod totp;

pub use recovery::{RECOVERY_CODES, RecoveryCodeDigest, RecoveryCodes};
pub use totp::{TOTP_DIGITS, TOTP_STEP_SECONDS, TotpSecret, qr_svg};
