//! Second factors: an authenticator app (TOTP) with recovery codes, and passkeys (WebAuthn),
//! enrolled and removed by their owner ([`enrolment`]), reset by an admin, and checked at
//! sign-in against a short-lived, single-use challenge ([`challenge`]).
//!
//! Enabling a factor protects the sign-ins that follow it; it signs nobody out (the owner who
//! suspects a thief signs out everywhere too). A sign-in that raced the enabling is still
//! caught: the login checks for factors after it issued its credentials and withdraws them
//! when one appeared meanwhile (see [`SecondFactors::required_methods`]).

pub mod challenge;
pub mod enrolment;
pub mod ports;

pub use challenge::{FactorProof, MfaChallenge, VerifiedSignIn};
pub use enrolment::{
    FactorParts, FactorSettings, FactorStatus, MAX_PASSKEYS, NewPasskey, PasskeyView,
    RECENT_SIGN_IN, SecondFactors, TotpEnrolment,
};
