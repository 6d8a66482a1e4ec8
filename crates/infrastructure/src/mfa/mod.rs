//! Second factors' primitives (groundwork of the multi-factor capability): RFC 6238 codes
//! and the enrolment QR code. The services that enrol, check and reset factors build on
//! these; the secrets they keep are sealed with [`crate::signing::MasterKey`] under
//! [`crate::signing::SealPurpose::TotpSecret`].

mod totp;

pub use totp::{TOTP_DIGITS, TOTP_STEP_SECONDS, TotpSecret, qr_svg};
